"""Health, readiness, version, queue overview and the OpenAPI docs over real HTTP."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import Stack, service_env

pytestmark = pytest.mark.integration


def test_health_ready_version(stack: Stack) -> None:
    assert requests.get(stack.url("/api/health"), timeout=10).json() == {"status": "ok"}
    ready = requests.get(stack.url("/api/ready"), timeout=10)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    version = requests.get(stack.url("/api/version"), timeout=10).json()
    assert version["name"] == "sdqueue"
    assert version["api"] == "v1"


def test_queue_reports_counts_and_the_live_worker(stack: Stack) -> None:
    stack.run(seed=11)
    queue = requests.get(stack.url("/api/v1/queue"), timeout=10).json()
    assert set(queue["counts"]) == {"queued", "started", "finished", "failed", "canceled"}
    assert queue["counts"]["finished"] >= 1
    assert queue["workers_alive"] == 1
    worker = queue["workers"][0]
    assert worker["device"] == "cpu/float32"
    assert worker["models_loaded"] == ["tiny"]


def test_openapi_docs_are_served(stack: Stack) -> None:
    assert requests.get(stack.url("/docs"), timeout=10).status_code == 200
    spec = requests.get(stack.url("/openapi.json"), timeout=10).json()
    assert "/api/v1/generate/txt2img" in spec["paths"]
    assert "/api/v1/jobs/{job_id}/images/{index}/thumbnail" in spec["paths"]


def test_ready_is_503_without_a_worker(make_stack) -> None:
    """An API whose queue has no live worker (another queue's worker does not count) is not ready: 503."""
    lonely = make_stack(worker=False)
    ready = requests.get(lonely.url("/api/ready"), timeout=10)
    assert ready.status_code == 503
    assert ready.json()["code"] == "not_ready"
    assert "no worker" in ready.json()["detail"]
    assert requests.get(lonely.url("/api/health"), timeout=10).status_code == 200


def test_api_refuses_public_bind_without_auth(redis_server, models_dir, tmp_path) -> None:
    """With no authentication, binding 0.0.0.0 is refused unless --insecure is given."""
    import subprocess
    import sys

    env = service_env(redis_server.url, tmp_path, models_dir, SDQ_HOST="0.0.0.0")
    result = subprocess.run([sys.executable, "-m", "cli", "api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0" in result.stderr
