"""Open event streams per principal over real HTTP: the one past SDQ_MAX_EVENT_STREAMS_PER_USER is a 429, and a
stream the client closes gives its slot back."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import Stack, create_api_key, wait_until
from tests.sse import events

pytestmark = pytest.mark.integration


def api_key(stack: Stack, owner: str) -> str:
    return create_api_key(stack, owner, "t")


def open_events(stack: Stack, job_id: str, key: str) -> requests.Response:
    return requests.get(stack.url(f"/api/v1/jobs/{job_id}/events"), headers={"X-API-Key": key}, stream=True, timeout=30)


def test_streams_past_the_limit_are_refused_and_closing_one_frees_its_slot(make_stack) -> None:
    """Two streams open (the limit), a third is a 429 with Retry-After; once the client closes one, a new one opens."""
    stack = make_stack(worker=False, SDQ_AUTH="api-key", SDQ_MAX_EVENT_STREAMS_PER_USER="2")
    key = api_key(stack, "dora")
    submitted = requests.post(
        stack.url("/api/v1/generate/txt2img"),
        json={"prompt": "a fox", "width": 64, "height": 64},
        headers={"X-API-Key": key},
        timeout=10,
    )
    job_id = submitted.json()["id"]
    streams = [open_events(stack, job_id, key) for _ in range(2)]
    readers = [events(stream) for stream in streams]  # kept: a dropped reader closes its connection
    for stream, reader in zip(streams, readers, strict=True):
        assert stream.status_code == 200
        assert next(reader)["event"] == "queued"  # the stream runs

    refused = open_events(stack, job_id, key)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "SDQ_MAX_EVENT_STREAMS_PER_USER" in refused.json()["detail"]

    streams[0].close()
    began = time.monotonic()

    def reopened() -> requests.Response | None:
        stream = open_events(stack, job_id, key)
        if stream.status_code == 200:
            return stream
        stream.close()
        return None

    again = wait_until(reopened, 10, "a freed stream slot", interval=0.2)
    assert time.monotonic() - began < 10
    again.close()
    streams[1].close()
