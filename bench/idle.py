"""First job after an idle pause: how long a job sent to a worker that waited ``--idle`` seconds stays queued.

Prints ``first_job_after_idle_ms=<submit -> started, from the job's own record>`` and, on stderr, the same after a
short pause for comparison and the whole submit -> finished time seen by the client.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BenchStack


def queued_ms(stack: BenchStack, session: requests.Session, seed: int) -> tuple[float, float]:
    started = time.perf_counter()
    view = stack.wait_job(session, stack.submit(session, seed=seed, force_regenerate=True))
    if view["status"] != "finished":
        raise SystemExit(f"job failed: {view['error']}")
    return view["timings"]["queued_seconds"] * 1000, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=float, default=60, help="seconds the worker waits with nothing to do")
    args = parser.parse_args()
    with BenchStack() as stack:
        stack.start_api()
        stack.start_worker()
        session = requests.Session()
        queued_ms(stack, session, 1)  # loads the model
        time.sleep(1)
        warm_queued, warm_total = queued_ms(stack, session, 2)
        time.sleep(args.idle)
        idle_queued, idle_total = queued_ms(stack, session, 3)
    print(
        f"# idle_s={args.idle:g} after_1s_pause: queued_ms={warm_queued:.1f} total_ms={warm_total:.1f}; "
        f"after_idle: total_ms={idle_total:.1f}",
        file=sys.stderr,
    )
    print(f"first_job_after_idle_ms={idle_queued:.1f}")


if __name__ == "__main__":
    main()
