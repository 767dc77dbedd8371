"""Model affinity and fair shares, measured with real processes: Redis, the API (JWT auth, three users) and two
workers whose memory budget holds one of the two tiny models each (``SDQ_MODEL_MEMORY_MB=6``, 4.3 MB a model).

Per mode (``off``: ``SDQ_AFFINITY_WAIT=0``, the workers take jobs in queue order as RQ does; ``on``: affinity):
1. ``--jobs`` jobs alternating between the two models, one user: model loads per worker (preloads not counted),
   jobs per worker, lost jobs (not finished) and jobs run twice (started more than once).
2. Fair shares: both workers busy with a long job, user ann queues 20 jobs, then bob queues 2: how many of ann's
   jobs started and ended before bob's last one, and bob's waits.

``python bench/affinity.py`` prints one ``key=value`` line per figure.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, BenchStack, wait

MODELS = ("tiny-a", "tiny-b")
USERS = {"ann": "user", "bob": "user", "cat": "admin"}
LONG = {"width": 192, "height": 192, "steps": 100}


class Cluster:
    def __init__(self, stack: BenchStack) -> None:
        from redis import Redis

        self.stack = stack
        self.redis = Redis(port=stack.redis_port)
        self.tokens: dict[str, str] = {}

    def add_users(self) -> None:
        for user, role in USERS.items():
            subprocess.run(
                [sys.executable, "-m", "cli", "users", "add", user, "--role", role, "--password-stdin"],
                env=self.stack.env,
                cwd=ROOT,
                input=f"{user}-password-1\n".encode(),
                check=True,
                capture_output=True,
            )
            answer = requests.post(
                self.stack.base + "/api/v1/auth/login",
                json={"username": user, "password": f"{user}-password-1"},
                timeout=30,
            )
            self.tokens[user] = answer.json()["access_token"]

    def submit(self, user: str, model: str, **body: Any) -> dict[str, Any]:
        body = {"prompt": "a lighthouse", "model": model, "width": 64, "height": 64, "steps": 2, **body}
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        answer = requests.post(self.stack.base + "/api/v1/generate/txt2img", json=body, headers=headers, timeout=60)
        answer.raise_for_status()
        accepted: dict[str, Any] = answer.json()
        return accepted

    def view(self, job_id: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens['cat']}"}
        view: dict[str, Any] = requests.get(
            f"{self.stack.base}/api/v1/jobs/{job_id}", headers=headers, timeout=60
        ).json()
        return view

    def wait_all(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        views: dict[str, dict[str, Any]] = {}
        while len(views) < len(ids):
            for job_id in ids:
                if job_id not in views:
                    view = self.view(job_id)
                    if view["status"] in ("finished", "failed", "canceled"):
                        views[job_id] = view
            time.sleep(0.2)
        return views

    def beats(self) -> dict[int, Any]:
        from store.heartbeat import live_heartbeats

        return {b.pid or 0: b for b in live_heartbeats(self.redis, self.stack.env["SDQ_QUEUE_NAME"])}

    def started_events(self, job_id: str) -> int:
        return sum(1 for _, f in self.redis.xrange(f"sdq:events:{job_id}") if f[b"event"] == b"started")


def at(view: dict[str, Any], field: str) -> datetime:
    return datetime.fromisoformat(view["timings"][field])


def affinity_round(cluster: Cluster, jobs: int) -> dict[str, Any]:
    before = {pid: (int(b.model_memory.get("loads", 0)), b.jobs_done) for pid, b in cluster.beats().items()}
    ids = [cluster.submit("ann", MODELS[n % 2], seed=n)["id"] for n in range(jobs)]
    started = time.monotonic()
    views = cluster.wait_all(ids)
    seconds = time.monotonic() - started
    after = {pid: (int(b.model_memory.get("loads", 0)), b.jobs_done) for pid, b in cluster.beats().items()}
    return {
        "loads_per_worker": [after[p][0] - before[p][0] for p in sorted(after)],
        "jobs_per_worker": [after[p][1] - before[p][1] for p in sorted(after)],
        "lost": sum(1 for v in views.values() if v["status"] != "finished"),
        "run_twice": sum(1 for j in ids if cluster.started_events(j) > 1),
        "seconds": round(seconds, 2),
    }


def fairness_round(cluster: Cluster) -> dict[str, Any]:
    blockers = [cluster.submit("cat", MODELS[n], **LONG)["id"] for n in range(2)]
    wait(lambda: all(cluster.view(b)["status"] == "started" for b in blockers), 120, "both workers busy")
    ann = [cluster.submit("ann", MODELS[n % 2], seed=100 + n)["id"] for n in range(20)]
    bob = [cluster.submit("bob", MODELS[n % 2], seed=200 + n) for n in range(2)]
    views = cluster.wait_all(blockers + ann + [b["id"] for b in bob])
    bob_views = [views[b["id"]] for b in bob]
    bob_last_start = max(at(v, "started_at") for v in bob_views)
    bob_last_end = max(at(v, "ended_at") for v in bob_views)
    return {
        "bob_positions_at_submit": [b["position"] for b in bob],
        "ann_started_before_bobs_last": sum(1 for j in ann if at(views[j], "started_at") < bob_last_start),
        "ann_ended_before_bobs_last": sum(1 for j in ann if at(views[j], "ended_at") < bob_last_end),
        "bob_queued_seconds": [round(v["timings"]["queued_seconds"], 2) for v in bob_views],
        "ann_last_queued_seconds": round(max(views[j]["timings"]["queued_seconds"] for j in ann), 2),
    }


def run_mode(mode: str, jobs: int) -> None:
    env = {"SDQ_AUTH": "jwt", "SDQ_DEFAULT_MODEL": MODELS[0], "SDQ_MODEL_MEMORY_MB": "6", "SDQ_QUEUE_NAME": "bench"}
    env |= {"SDQ_AFFINITY_WAIT": "0" if mode == "off" else "10", "SDQ_MAX_QUEUED_PER_USER": "500"}
    env |= {"SDQ_SUBMIT_PER_MINUTE": "5000", "SDQ_CACHE_ENABLED": "false", "OMP_NUM_THREADS": "1"}
    with BenchStack(env=env) as stack:
        checkpoints = stack.models_dir / "checkpoints"
        for name in MODELS:
            shutil.copytree(checkpoints / "tiny", checkpoints / name)
        stack.start_api()
        cluster = Cluster(stack)
        cluster.add_users()
        for _ in range(2):
            stack.workers.append(stack._spawn("worker"))
        wait(lambda: len(cluster.beats()) == 2, 300, "two workers")
        for key, value in affinity_round(cluster, jobs).items():
            print(f"affinity_{mode}_{key}={value}", flush=True)
        for key, value in fairness_round(cluster).items():
            print(f"fairness_{mode}_{key}={value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40, help="jobs alternating between the two models")
    parser.add_argument("--modes", default="off,on", help="off (queue order, as RQ), on (affinity), or both")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        run_mode(mode, args.jobs)


if __name__ == "__main__":
    main()
