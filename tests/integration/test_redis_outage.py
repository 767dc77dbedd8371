"""Days of uptime in minutes: a worker left idle, and Redis stopped and started again under a running stack."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.conftest import LocalRedis, Stack, launch_stack

pytestmark = pytest.mark.integration

IDLE_SECONDS = 35  # well past redis-py's default 5 s socket timeout, which made RQ back off for up to 60 s
LONG = {"width": 512, "height": 512, "steps": 150}


def error_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " ERROR " in line or "Traceback" in line]


def test_idle_worker_starts_a_new_job_within_a_second(make_stack, tmp_path: Path) -> None:
    """A worker idle for 35 s takes a new job within 1 s of its submit, and logged nothing at ERROR while idle."""
    log = tmp_path / "worker.log"
    stack: Stack = make_stack(worker=False)
    stack.start_worker(log=log)
    assert stack.run(seed=1)["status"] == "finished"  # the model is loaded: what follows is only the dequeue
    time.sleep(IDLE_SECONDS)
    view = stack.run(seed=2)
    assert view["status"] == "finished"
    assert view["timings"]["queued_seconds"] < 1.0, view["timings"]
    assert error_lines(log) == []


def _submit(stack: Stack, **body: object) -> requests.Response:
    return requests.post(
        stack.url("/api/v1/generate/txt2img"),
        json={"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, **body},
        timeout=30,
    )


def test_api_answers_503_during_an_outage_and_the_idle_worker_resumes_within_2s(
    local_redis: LocalRedis, models_dir: Path, tmp_path: Path
) -> None:
    """redis-server stopped: submits and reads answer 503 problem details with Retry-After, health stays 200, the
    worker stays up; once Redis is back, a new job starts within 2 s and the jobs from before are all there."""
    stack = launch_stack(local_redis.url, models_dir, tmp_path / "data", worker=False)
    try:
        stack.start_worker(log=tmp_path / "worker.log")
        before = stack.run(seed=1)
        assert before["status"] == "finished"
        local_redis.stop()
        for answer in (
            _submit(stack, seed=2),
            requests.get(stack.url(f"/api/v1/jobs/{before['id']}"), timeout=30),
            requests.get(stack.url("/api/v1/queue"), timeout=30),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "unavailable"
            assert answer.headers["retry-after"] == "2"
        assert requests.get(stack.url("/api/health"), timeout=10).status_code == 200
        assert requests.get(stack.url("/api/ready"), timeout=30).status_code == 503
        time.sleep(5)  # the worker has met the outage in its dequeue loop
        assert stack.worker is not None and stack.worker.poll() is None, "the worker exited during the outage"
        local_redis.start()
        after = stack.run(seed=3)
        assert after["status"] == "finished"
        assert after["timings"]["queued_seconds"] < 2.0, after["timings"]
        assert stack.get(f"/api/v1/jobs/{before['id']}")["status"] == "finished"
    finally:
        stack.stop()


def test_jobs_running_and_queued_during_an_outage_all_finish(
    local_redis: LocalRedis, models_dir: Path, tmp_path: Path
) -> None:
    """Redis stopped while a job runs with three more queued: after the restart all four end ``finished`` (the
    running one completes, or is re-queued once when its outcome could not be written), none is lost."""
    stack = launch_stack(local_redis.url, models_dir, tmp_path / "data", worker=False)
    try:
        stack.start_worker(log=tmp_path / "worker.log")
        running = stack.submit_id(**LONG)
        queued = [stack.submit_id(seed=s) for s in range(3)]
        stack.wait_job(running, 180, until=lambda v: v["status"] == "started" and v["progress"]["step"] >= 1)
        local_redis.stop()
        time.sleep(3)
        local_redis.start()
        views = [stack.wait_job(job_id, 300) for job_id in (running, *queued)]
        assert [v["status"] for v in views] == ["finished"] * 4, [v.get("error") for v in views]
        assert views[0]["retries"] <= 1
        assert stack.worker is not None and stack.worker.poll() is None
    finally:
        stack.stop()
