"""Durability figures for the hardening note, each on a whole stack of this machine (bench/stack.py).

  kill     kill -9 of the worker mid-job, --trials times: each job ends finished or failed (or is re-queued), 0 lost
  restart  redis-server restart (SIGTERM, AOF on) with --jobs queued: all still there, then all run
  burst    --jobs submits from --concurrency threads (no worker): 0 5xx, every job reads back queued, counts exact
  rss      --jobs jobs through one worker: its RSS after the first --warmup jobs and at the end

Each prints one ``name=value`` line per figure.
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import BenchStack, wait

LONG = {"width": 256, "height": 256, "steps": 150}  # long enough to be killed mid-run, short to re-run


def kill(args: argparse.Namespace) -> None:
    with BenchStack(env={"SDQ_WORKER_HEARTBEAT_TTL": "3", "SDQ_MAX_RETRIES": "1"}) as stack:
        stack.start_api()
        session = requests.Session()
        ids = []
        for trial in range(args.trials):
            worker = stack.start_worker()
            # high priority: it runs before the re-queued jobs of earlier trials, which the last worker drains
            job_id = stack.submit(session, seed=trial, priority="high", **LONG)
            ids.append(job_id)

            def running(job_id: str = job_id) -> bool:
                view = session.get(f"{stack.base}/api/v1/jobs/{job_id}", timeout=30).json()
                return bool(view["status"] == "started" and view["progress"]["step"] >= 1)

            wait(running, 600, f"trial {trial}: job running")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        stack.start_worker()  # recovers the last orphan and runs every retry
        views = [stack.wait_job(session, job_id, 1800) for job_id in ids]
    statuses = collections.Counter(v["status"] for v in views)
    retried = sum(1 for v in views if v["retries"] > 0)
    lost = args.trials - sum(statuses.values())
    print(f"kill_trials={args.trials} finished={statuses['finished']} failed={statuses['failed']} ", end="")
    print(f"retried={retried} lost={lost}")


def restart(args: argparse.Namespace) -> None:
    with BenchStack(aof=True) as stack:
        stack.start_api()
        session = requests.Session()
        ids = [stack.submit(session, seed=i) for i in range(args.jobs)]
        time.sleep(1.5)  # appendfsync everysec
        stack.stop_redis()
        stack.start_redis()
        counts = session.get(stack.base + "/api/v1/queue", timeout=60).json()["counts"]
        stack.start_worker()
        views = [stack.wait_job(session, job_id, 1800) for job_id in ids]
    finished = sum(1 for v in views if v["status"] == "finished")
    print(f"restart_jobs={args.jobs} queued_after_restart={counts['queued']} finished={finished} ", end="")
    print(f"lost={args.jobs - finished}")


def burst(args: argparse.Namespace) -> None:
    with BenchStack() as stack:
        stack.start_api()
        local = threading.local()

        def submit(seed: int) -> tuple[int, str | None]:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            body = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, "seed": seed}
            answer = session.post(stack.base + "/api/v1/generate/txt2img", json=body, timeout=120)
            return answer.status_code, answer.json().get("id") if answer.status_code == 202 else None

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(submit, range(args.jobs)))
        seconds = time.perf_counter() - started
        codes = collections.Counter(code for code, _ in results)
        ids = [job_id for _, job_id in results if job_id]
        with ThreadPoolExecutor(8) as pool:
            views = list(pool.map(lambda i: requests.get(f"{stack.base}/api/v1/jobs/{i}", timeout=60), ids))
        missing = sum(1 for v in views if v.status_code != 200 or v.json()["status"] != "queued")
        counts = requests.get(stack.base + "/api/v1/queue", timeout=60).json()["counts"]
    server_errors = sum(n for code, n in codes.items() if code >= 500)
    print(f"burst_submits={args.jobs} concurrency={args.concurrency} seconds={seconds:.1f} ", end="")
    print(f"codes={dict(codes)} server_errors={server_errors} missing={missing} queued_count={counts['queued']}")


def rss(args: argparse.Namespace) -> None:
    with BenchStack() as stack:
        stack.start_api()
        worker = psutil.Process(stack.start_worker().pid)
        session = requests.Session()
        samples = []
        for index in range(args.jobs):
            view = stack.wait_job(session, stack.submit(session, seed=index, force_regenerate=True))
            if view["status"] != "finished":
                raise SystemExit(f"job failed: {view['error']}")
            if index + 1 == args.warmup or index + 1 == args.jobs:
                samples.append(worker.memory_info().rss)
    growth = (samples[1] - samples[0]) / samples[0] * 100
    print(f"rss_jobs={args.jobs} rss_after_warmup_mb={samples[0] / 2**20:.1f} ", end="")
    print(f"rss_end_mb={samples[1] / 2**20:.1f} rss_growth_pct={growth:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figure", choices=["kill", "restart", "burst", "rss"])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    args.jobs = args.jobs or {"restart": 500, "burst": 5000, "rss": 500}.get(args.figure, 0)
    {"kill": kill, "restart": restart, "burst": burst, "rss": rss}[args.figure](args)


if __name__ == "__main__":
    main()
