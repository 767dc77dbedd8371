"""Scale out on one machine: several real worker processes on one Redis and one shared data directory, two models
that do not fit one worker's memory budget together, three users (one admin). Model affinity, fair shares,
priorities, cancels, a worker killed with -9 and one drained mid-run; every job ends exactly once with its files.

One cluster (API + workers) per module; the tests run in file order and add workers as they go.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis

from schemas.keys import events_key
from store.heartbeat import WorkerHeartbeat, live_heartbeats
from tests.conftest import ROOT, RedisServer, Stack, launch_stack, start_process, stop_process, wait_until

pytestmark = pytest.mark.integration

MODELS = ("tiny-a", "tiny-b")
# Accounts live in the session's shared Redis: names no other test module uses.
USERS = {"sana": "user", "seb": "user", "sol": "admin"}
USER_LIST = list(USERS)
SHORT = {"width": 64, "height": 64, "steps": 2}
LONG = {"width": 192, "height": 192, "steps": 150}  # a few seconds on a CPU


class Cluster:
    def __init__(self, stack: Stack, redis: Redis) -> None:
        self.stack = stack
        self.redis = redis
        self.queue = stack.env["SDQ_QUEUE_NAME"]
        self.workers: list[subprocess.Popen[bytes]] = []
        self.tokens: dict[str, str] = {}

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            env=self.stack.env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def beats(self) -> dict[int, WorkerHeartbeat]:
        """Live heartbeats by worker pid."""
        return {b.pid or 0: b for b in live_heartbeats(self.redis, self.queue)}

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def submit(self, user: str, model: str, priority: str = "normal", **body: Any) -> dict[str, Any]:
        body = {"prompt": "a lighthouse", "model": model, "priority": priority, **SHORT, **body}
        response = requests.post(
            self.stack.url("/api/v1/generate/txt2img"), json=body, headers=self.headers(user), timeout=10
        )
        assert response.status_code == 202, response.text
        accepted: dict[str, Any] = response.json()
        return accepted

    def view(self, job_id: str, user: str = "sol") -> dict[str, Any]:
        response = requests.get(self.stack.url(f"/api/v1/jobs/{job_id}"), headers=self.headers(user), timeout=10)
        view: dict[str, Any] = response.json()
        return view

    def wait_all(self, ids: list[str], timeout: float = 120) -> dict[str, dict[str, Any]]:
        views: dict[str, dict[str, Any]] = {}

        def ended() -> bool:
            for job_id in ids:
                if job_id not in views:
                    view = self.view(job_id)
                    if view["status"] in ("finished", "failed", "canceled"):
                        views[job_id] = view
            return len(views) == len(ids)

        wait_until(ended, timeout, f"{len(ids)} jobs", interval=0.2)
        return views

    def events(self, job_id: str) -> list[str]:
        return [fields[b"event"].decode() for _, fields in self.redis.xrange(events_key(job_id))]

    def held_models(self) -> list[str]:
        """One model each worker holds: a long job per worker on these keeps every worker busy at once (a job
        whose model is on a busy worker may wait for it: model affinity)."""
        return [b.models_loaded[0] for b in self.beats().values()]

    def loads(self) -> dict[int, int]:
        return {pid: int(b.model_memory.get("loads", 0)) for pid, b in self.beats().items()}

    def done(self) -> dict[int, int]:
        return {pid: b.jobs_done for pid, b in self.beats().items()}


@pytest.fixture(scope="module")
def cluster(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    models = tmp_path_factory.mktemp("scale-models")
    for name in MODELS:  # two checkpoints; a worker's budget (6 MB) holds one of them (4.3 MB each)
        shutil.copytree(models_dir / "checkpoints" / "tiny", models / "checkpoints" / name)
    stack = launch_stack(
        redis_server.url,
        models,
        tmp_path_factory.mktemp("scale-data"),
        worker=False,
        SDQ_AUTH="jwt",
        SDQ_QUEUE_NAME=f"scale-{uuid.uuid4().hex[:6]}",
        SDQ_DEFAULT_MODEL="tiny-a",
        SDQ_MODEL_MEMORY_MB="6",
        SDQ_WORKER_HEARTBEAT_TTL="6",  # short for the kill -9 below, long enough for a loaded 2-core machine
        SDQ_AFFINITY_WAIT="5",
        SDQ_MAX_QUEUED_PER_USER="100",
        SDQ_SUBMIT_PER_MINUTE="1000",
        OMP_NUM_THREADS="1",
    )
    cluster = Cluster(stack, Redis.from_url(redis_server.url))
    cluster.workers = [start_process("worker", stack.env) for _ in range(3)]  # they start while users are added
    try:
        adding = [
            subprocess.Popen(
                [sys.executable, "-m", "cli", "users", "add", user, "--role", role, "--password-stdin"],
                env=stack.env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
            )
            for user, role in USERS.items()
        ]
        for process, user in zip(adding, USERS, strict=True):  # all answered (and their pipes closed) first
            process.communicate(f"{user}-password-1\n".encode(), timeout=60)
        assert [process.returncode for process in adding] == [0] * len(adding)
        for user in USERS:
            login = requests.post(
                stack.url("/api/v1/auth/login"), json={"username": user, "password": f"{user}-password-1"}, timeout=10
            )
            cluster.tokens[user] = login.json()["access_token"]
        wait_until(lambda: len(cluster.beats()) == 3, 120, "3 worker heartbeats", interval=0.2)
        yield cluster
    finally:
        for worker in cluster.workers:
            stop_process(worker)
        stack.stop()


def assert_ended_once_with_files(cluster: Cluster, views: dict[str, dict[str, Any]]) -> None:
    for job_id, view in views.items():
        events = cluster.events(job_id)
        assert [e for e in events if e in ("finished", "failed", "canceled")] == [view["status"]], (job_id, events)
        assert events.count("started") == view["retries"] + 1 or view["status"] == "canceled", (job_id, events)
        folder = cluster.stack.data_dir / "outputs" / job_id
        if view["status"] == "finished":
            assert view["images"] and all((folder / f"{i['index']}.png").is_file() for i in view["images"]), job_id
        else:
            assert not folder.exists()


def test_workers_with_affinity_load_each_model_about_once(cluster: Cluster) -> None:
    """20 jobs alternating two models on 3 workers whose budget holds one model: at most 4 loads (RQ's plain
    order loads on most jobs; bench/affinity.py measures both), none lost, none run twice."""
    loads_before, done_before = cluster.loads(), cluster.done()
    ids = [cluster.submit("sana", MODELS[n % 2], seed=n)["id"] for n in range(20)]
    views = cluster.wait_all(ids)
    assert {v["status"] for v in views.values()} == {"finished"}
    loads = {pid: n - loads_before[pid] for pid, n in cluster.loads().items()}
    done = {pid: n - done_before[pid] for pid, n in cluster.done().items()}
    print(f"affinity: loads per worker {sorted(loads.values())} for 20 jobs; jobs per worker {sorted(done.values())}")
    assert sum(loads.values()) <= 4
    assert sum(done.values()) == 20, [(v["id"], v["retries"]) for v in views.values() if v["retries"]]
    assert_ended_once_with_files(cluster, views)
    workers = requests.get(cluster.stack.url("/api/v1/queue"), headers=cluster.headers("sol"), timeout=10).json()
    assert workers["workers_alive"] == 3
    assert all(w["version"] and w["models_loaded"] and w["device"].startswith("cpu") for w in workers["workers"])
    assert sum(w["jobs_done"] for w in workers["workers"]) == 20
    metrics = requests.get(cluster.stack.url("/metrics"), headers=cluster.headers("sol"), timeout=10).text
    assert metrics.count("sdq_worker_jobs_done{") == 3


def started(view: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(view["timings"]["started_at"])


def ended(view: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(view["timings"]["ended_at"])


def test_a_second_user_is_served_in_turn_behind_a_long_queue(cluster: Cluster) -> None:
    """All workers busy; ann queues 20, then bob queues 2: bob's both start before ann's 6th (ends can swap by a
    model load: bench/affinity.py reports them), and bob's position says so at submit. A cancel takes ann's job
    out at once."""
    blockers = [cluster.submit("sol", model, **LONG)["id"] for model in cluster.held_models()]
    wait_until(lambda: all(cluster.view(b)["status"] == "started" for b in blockers), 60, "all workers busy")
    ann = [cluster.submit("sana", MODELS[n % 2], seed=100 + n)["id"] for n in range(20)]
    bob = [cluster.submit("seb", MODELS[n % 2], seed=200 + n) for n in range(2)]
    # ann's turn and bob's first turn tie (both were last served in the round just closed): the earlier job goes
    # first, then they alternate
    assert [b["position"] for b in bob] == [2, 4]
    estimate = requests.post(
        cluster.stack.url("/api/v1/estimate"), json={"prompt": "x", **SHORT}, headers=cluster.headers("seb"), timeout=10
    ).json()
    assert estimate["workers_alive"] == 3 and estimate["queued_ahead"] >= 12  # some may have started meanwhile
    rounds = -(-estimate["queued_ahead"] // 3)  # the jobs ahead, shared by the 3 live workers
    assert estimate["wait_seconds"] == pytest.approx(rounds * estimate["seconds"], abs=0.01)  # measured in the 1st test
    canceled = requests.post(
        cluster.stack.url(f"/api/v1/jobs/{ann[-1]}/cancel"), headers=cluster.headers("sana"), timeout=10
    )
    assert canceled.json()["status"] == "canceled"
    views = cluster.wait_all(blockers + ann + [b["id"] for b in bob], timeout=150)
    ann_starts = sorted(started(views[j]) for j in ann[:-1])
    bob_starts = [started(views[b["id"]]) for b in bob]
    bob_last_end = max(ended(views[b["id"]]) for b in bob)
    ann_before = sum(1 for j in ann[:-1] if ended(views[j]) < bob_last_end)
    print(f"fairness: ann's jobs ended before bob's last: {ann_before} of 19")
    assert max(bob_starts) < ann_starts[5]
    assert views[ann[-1]]["status"] == "canceled"
    assert_ended_once_with_files(cluster, views)


def test_three_workers_one_killed_one_drained_the_last_finishes_everything(cluster: Cluster) -> None:
    """Three workers each run a long job; one is killed with -9 and one drained mid-job. Then 20 short jobs of 3
    users over 2 models (2 canceled) and 3 urgent ones: the last worker runs everything, the killed worker's job
    again, the urgent ones before every normal job still queued when they came."""
    held = cluster.held_models()
    long_jobs = [cluster.submit(USER_LIST[n], held[n], seed=300 + n, **LONG)["id"] for n in range(3)]
    wait_until(lambda: all(cluster.view(j)["status"] == "started" for j in long_jobs), 60, "three workers busy")
    running = {b.current_job: b for b in cluster.beats().values()}
    victim_beat, drained_beat = running[long_jobs[0]], running[long_jobs[1]]
    by_pid = {w.pid: w for w in cluster.workers}
    victim, drained = by_pid[victim_beat.pid], by_pid[drained_beat.pid]
    victim.send_signal(signal.SIGKILL)
    drain = cluster.cli("worker", "--drain", drained_beat.name)
    assert drain.returncode == 0, drain.stderr
    short = [cluster.submit(USER_LIST[n % 3], MODELS[n % 2], seed=400 + n)["id"] for n in range(20)]
    for job_id in short[:2]:
        requests.post(cluster.stack.url(f"/api/v1/jobs/{job_id}/cancel"), headers=cluster.headers("sol"), timeout=10)
    urgent = [cluster.submit("sol", MODELS[n % 2], "high", seed=500 + n)["id"] for n in range(3)]
    still_queued = [j for j in short[2:] if cluster.view(j)["status"] == "queued"]
    assert drained.wait(timeout=120) == 0  # finished its job, took no other, exited
    views = cluster.wait_all(long_jobs + short + urgent, timeout=150)
    assert {views[j]["status"] for j in short[:2]} == {"canceled"}
    assert {v["status"] for j, v in views.items() if j not in short[:2]} == {"finished"}
    assert views[long_jobs[0]]["retries"] == 1 and sum(v["retries"] for v in views.values()) == 1
    assert len(still_queued) >= 6  # so the order below says something
    assert max(started(views[u]) for u in urgent) < min(started(views[j]) for j in still_queued)
    assert_ended_once_with_files(cluster, views)
    survivors = cluster.beats()
    assert list(survivors) == [pid for pid in by_pid if pid not in (victim.pid, drained.pid)]
    print(f"proof: survivor loads {cluster.loads()} jobs done {cluster.done()}")
