"""`sdqueue api --workers N`: several API processes share one port and one Redis, and stop together."""

from __future__ import annotations

import psutil
import pytest
import requests

from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def api_processes(parent: psutil.Process) -> list[psutil.Process]:
    return [child for child in parent.children() if "spawn_main" in " ".join(child.cmdline())]


def test_two_api_processes_serve_one_queue(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_API_WORKERS="2")
    parent = psutil.Process(stack.api.pid)
    children = wait_until(lambda: len(api_processes(parent)) == 2 and api_processes(parent), 30, "2 API processes")
    submitted = requests.post(stack.url("/api/v1/generate/txt2img"), json={"prompt": "a kettle", "steps": 2})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()["id"]
    # A new connection each time: the kernel spreads them over both processes; every one reads the same job.
    for _ in range(20):
        assert requests.get(stack.url(f"/api/v1/jobs/{job}"), timeout=10).json()["status"] == "queued"
    stack.stop()
    _gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive
