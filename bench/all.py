"""Every benchmark, one after the other, at one size; prints one ``name=value`` line per figure.

``--size smallest`` only checks that each benchmark still runs (CI does this; its figures mean nothing);
``small`` takes a few minutes and gives usable ratios; ``full`` uses each script's own defaults (the notes' figures).
Each benchmark runs in its own process with its own Redis, API and worker, never two at once. A benchmark that fails
prints ``<name>_error=<exit status>`` and the run goes on; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, script and arguments) per size; the figures each prints are split into one name=value line each.
PLANS: dict[str, list[tuple[str, list[str]]]] = {
    "smallest": [
        ("overhead", ["overhead.py", "--steps", "2", "--jobs", "1", "--warmup", "1"]),
        ("idle", ["idle.py", "--idle", "2"]),
        ("api", ["api.py", "--seconds", "1", "--concurrency", "8"]),
        ("api_auth", ["api.py", "--seconds", "1", "--concurrency", "8", "--auth"]),
        ("rss", ["durability.py", "rss", "--jobs", "4", "--warmup", "2"]),
    ],
    "small": [
        ("overhead", ["overhead.py", "--steps", "4", "--jobs", "10", "--warmup", "2"]),
        ("idle", ["idle.py", "--idle", "20"]),
        ("api", ["api.py", "--seconds", "5"]),
        ("api_auth", ["api.py", "--seconds", "5", "--auth"]),
        ("rss", ["durability.py", "rss", "--jobs", "100", "--warmup", "20"]),
    ],
    "full": [
        ("overhead", ["overhead.py"]),
        ("idle", ["idle.py"]),
        ("api", ["api.py"]),
        ("api_auth", ["api.py", "--auth"]),
        ("rss", ["durability.py", "rss"]),
    ],
}


def figures(output: str) -> list[str]:
    """``a=1 b=2`` lines (not ``#`` comments) as ``["a=1", "b=2"]``."""
    found = []
    for line in output.splitlines():
        if line.startswith("#"):
            continue
        found += [word for word in line.split() if "=" in word]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(PLANS), default="small")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (names as printed in the plan)")
    args = parser.parse_args()
    failed = False
    for name, command in PLANS[args.size]:
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], capture_output=True, text=True)
        print(f"# {name}: {' '.join(command)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        if done.returncode:
            failed = True
            print(done.stderr[-2000:], file=sys.stderr)
            print(f"{name}_error={done.returncode}", flush=True)
            continue
        for figure in figures(done.stdout):
            print(figure, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
