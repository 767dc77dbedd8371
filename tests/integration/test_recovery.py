"""Durability with real processes and real signals: worker death, stop signals, Redis restart, timeouts."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.conftest import ROOT, LocalRedis, Stack, launch_stack

pytestmark = pytest.mark.integration

LONG = {"width": 512, "height": 512, "steps": 60}


def running(min_step: int = 1):  # type: ignore[no-untyped-def]
    return lambda view: view["status"] == "started" and view["progress"]["step"] >= min_step


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_killed_worker_job_is_retried_by_the_next_worker(make_stack) -> None:
    """kill -9 mid-job: within the heartbeat TTL the job is re-queued (retries = 1) and a new worker
    completes it and everything queued behind it."""
    stack = make_stack(SDQ_WORKER_HEARTBEAT_TTL="3")
    victim = stack.submit_id(**LONG, seed=1)
    behind = [stack.submit_id(seed=s) for s in (2, 3)]
    stack.wait_job(victim, until=running())
    assert stack.worker is not None
    kill_hard(stack.worker)
    killed_at = time.monotonic()
    stack.start_worker()
    requeued = stack.wait_job(victim, timeout=30, until=lambda v: v["retries"] == 1)
    recovery = time.monotonic() - killed_at
    print(f"worker_death_to_requeue_seconds={recovery:.2f} (heartbeat ttl 3 s, new worker start included)")
    assert requeued["status"] in ("queued", "started", "finished")
    done = stack.wait_job(victim, timeout=180)
    assert done["status"] == "finished"
    assert done["retries"] == 1
    assert [stack.wait_job(j)["status"] for j in behind] == ["finished", "finished"]


def test_killed_worker_without_retries_left_fails_the_job(make_stack) -> None:
    stack = make_stack(SDQ_WORKER_HEARTBEAT_TTL="3", SDQ_MAX_RETRIES="0")
    victim = stack.submit_id(**LONG, seed=1)
    stack.wait_job(victim, until=running())
    assert stack.worker is not None
    kill_hard(stack.worker)
    stack.start_worker()
    view = stack.wait_job(victim, timeout=30)
    assert view["status"] == "failed"
    assert view["error"]["code"] == "worker_died"
    assert "worker died" in view["error"]["detail"]
    assert stack.run(seed=2)["status"] == "finished"


def test_sigterm_finishes_the_job_takes_no_new_one_and_exits_0(make_stack) -> None:
    stack = make_stack()
    current = stack.submit_id(**LONG, seed=1)
    waiting = stack.submit_id(seed=2)
    stack.wait_job(current, until=running())
    assert stack.worker is not None
    stack.worker.send_signal(signal.SIGTERM)
    assert stack.worker.wait(timeout=180) == 0
    view = stack.get(f"/api/v1/jobs/{current}")
    assert view["status"] == "finished"
    png = requests.get(stack.url(view["images"][0]["url"]), timeout=10).content
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # a whole file: decodes to the last row
        assert image.size == (512, 512)
    assert stack.get(f"/api/v1/jobs/{waiting}")["status"] == "queued"


def test_second_sigint_stops_at_next_step_and_requeues(make_stack) -> None:
    stack = make_stack()
    job_id = stack.submit_id(**LONG, seed=1)
    stack.wait_job(job_id, until=running(2))
    assert stack.worker is not None
    stack.worker.send_signal(signal.SIGINT)
    time.sleep(0.3)
    stack.worker.send_signal(signal.SIGINT)
    assert stack.worker.wait(timeout=120) == 0
    view = stack.get(f"/api/v1/jobs/{job_id}")
    assert view["status"] == "queued"
    assert view["position"] == 1
    assert view["retries"] == 0
    assert not (stack.data_dir / "outputs" / job_id).exists()
    stack.start_worker()
    assert stack.wait_job(job_id, timeout=180)["status"] == "finished"


def test_job_over_its_time_limit_fails_and_worker_continues(stack: Stack, redis_server, models_dir, tmp_path) -> None:
    """A second API on the same queue with SDQ_JOB_TIMEOUT=1 queues a job the shared worker must stop."""
    strict = launch_stack(
        redis_server.url,
        models_dir,
        stack.data_dir,
        worker=False,
        SDQ_QUEUE_NAME=stack.env["SDQ_QUEUE_NAME"],
        SDQ_JOB_TIMEOUT="1",
    )
    try:
        view = strict.run(**LONG, seed=1)
    finally:
        strict.stop()
    assert view["status"] == "failed"
    assert view["error"]["code"] == "job_timeout"
    assert "time limit (1 s)" in view["error"]["detail"]
    assert stack.run(seed=2)["status"] == "finished"


def test_queued_jobs_survive_redis_and_api_restart(models_dir, local_redis: LocalRedis, tmp_path: Path) -> None:
    """AOF on: 20 queued jobs survive a redis-server restart and an API restart; a worker then runs them all."""
    stack = launch_stack(local_redis.url, models_dir, tmp_path / "data", worker=False)
    try:
        ids = [stack.submit_id(seed=s) for s in range(20)]
        stack.stop()
        local_redis.stop()
        local_redis.start()
        stack = launch_stack(local_redis.url, models_dir, tmp_path / "data", worker=False)
        assert stack.get("/api/v1/queue")["counts"]["queued"] == 20
        stack.start_worker()
        assert [stack.wait_job(i)["status"] for i in ids] == ["finished"] * 20
    finally:
        stack.stop()


def test_retention_sweep_deletes_expired_jobs_and_reports_usage(stack: Stack) -> None:
    from redis import Redis

    from schemas.settings import Settings
    from worker.retention import sweep

    view = stack.run(seed=8)
    folder = stack.data_dir / "outputs" / view["id"]
    assert folder.is_dir()
    settings = Settings(
        redis_url=stack.env["SDQ_REDIS_URL"], data_dir=stack.data_dir, queue_name=stack.env["SDQ_QUEUE_NAME"]
    )
    redis = Redis.from_url(settings.redis_url)
    kept = sweep(redis, settings)  # nothing is older than 7 days
    assert view["id"] not in kept.deleted
    assert kept.bytes > 0 and kept.folders >= 1
    storage = stack.get("/api/v1/queue")["storage"]
    assert storage["bytes"] == kept.bytes

    orphan = stack.data_dir / "inputs" / ("f" * 32)  # inputs of a submit whose enqueue failed
    orphan.mkdir(parents=True)
    (orphan / "init_image.png").write_bytes(b"x")
    report = sweep(redis, settings, now=time.time() + settings.retention_seconds + 60)
    assert view["id"] in report.deleted
    assert not folder.exists()
    assert not orphan.exists() and "f" * 32 in report.deleted
    assert requests.get(stack.url(f"/api/v1/jobs/{view['id']}"), timeout=10).status_code == 404
    assert os.path.isdir(stack.data_dir / "outputs")


def test_sweep_command_deletes_with_a_short_retention(stack: Stack) -> None:
    """`sdqueue sweep` with SDQ_RETENTION_SECONDS=1 removes a job that ended more than a second ago."""
    view = stack.run(seed=12)
    time.sleep(1.5)
    env = dict(stack.env, SDQ_RETENTION_SECONDS="1")
    result = subprocess.run(
        [sys.executable, "-m", "cli", "sweep"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("deleted ")
    assert not (stack.data_dir / "outputs" / view["id"]).exists()
    assert requests.get(stack.url(f"/api/v1/jobs/{view['id']}"), timeout=10).status_code == 404
