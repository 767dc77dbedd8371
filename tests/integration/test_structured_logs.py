"""``SDQ_LOG_FORMAT=json`` on real API and worker processes: every line is one JSON object; a request's lines carry
its ``X-Request-ID`` (echoed, sanitised, or made up) and user; the job stores the request id, and the worker's lines
for that job carry the job id, the same request id and the worker's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_until

pytestmark = pytest.mark.integration

KEYS = {"time", "level", "logger", "message", "request_id", "job_id", "user", "worker"}


def json_lines(path: Path) -> list[dict]:
    text = path.read_text() if path.exists() else ""
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # fails the test on any line that is not one JSON object
        assert entry.keys() >= KEYS, line
        entries.append(entry)
    return entries


def test_json_logs_follow_a_request_into_the_worker(make_stack, tmp_path: Path) -> None:
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    stack = make_stack(worker=False, log=api_log, SDQ_LOG_FORMAT="json")
    stack.worker = None
    stack.env["SDQ_LOG_FORMAT"] = "json"
    stack.start_worker(log=worker_log)

    made = requests.get(stack.url("/api/health"), timeout=10).headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    given = 'trace-42 <b>"x"; ' + "z" * 100
    body = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, "model": "broken"}
    answer = requests.post(
        stack.url("/api/v1/generate/txt2img"), json=body, headers={"X-Request-ID": given}, timeout=10
    )
    assert answer.status_code == 202, answer.text
    request_id = answer.headers["X-Request-ID"]
    assert request_id == ("trace-42bxz" + "z" * 100)[:64]
    job_id = answer.json()["id"]
    job = stack.wait_job(job_id)
    assert job["status"] == "failed" and job["request_id"] == request_id

    def api_line_for_request() -> list[dict]:
        return [e for e in json_lines(api_log) if e["request_id"] == request_id]

    api_lines = wait_until(api_line_for_request, 10, "an API log line with the request id")
    access = [e for e in api_lines if e["logger"] == "uvicorn.access" and "txt2img" in e["message"]]
    assert access and all(e["user"] == "anonymous" and e["job_id"] == job_id for e in access)

    def worker_lines_for_job() -> list[dict]:
        return [e for e in json_lines(worker_log) if e["job_id"] == job_id]

    lines = wait_until(worker_lines_for_job, 10, "a worker log line with the job id")
    in_job = [e for e in lines if e["logger"] == "worker.tasks" and "failed" in e["message"]]
    assert in_job and all(e["request_id"] == request_id and e["user"] == "anonymous" for e in in_job)
    names = [e["worker"] for e in json_lines(worker_log)]
    named = names[next(i for i, name in enumerate(names) if name) :]  # from the moment the worker has its name
    assert len(set(named)) == 1 and lines[0]["worker"] == named[0]
