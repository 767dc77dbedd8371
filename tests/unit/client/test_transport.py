"""Client behaviour over a scripted transport (httpx.MockTransport): retries, re-authentication, token refresh,
event-stream reconnects and the polling fallback, for the sync and the async client alike."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from client import AsyncClient, Client, InvalidRequest, RetryPolicy, Unavailable, WaitTimeout
from client.sync_job import Job
from schemas.jobs import JobStatus

JOB_ID = "a" * 32
FAST = RetryPolicy(max_retries=3, max_wait=5, backoff=0.01)


def problem(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"type": "t", "title": code, "status": status, "detail": code, "code": code}
    return httpx.Response(status, json=body, headers=headers, extensions={})


def view(status: str = "finished", step: int = 2) -> dict[str, Any]:
    return {
        "id": JOB_ID,
        "status": status,
        "mode": "txt2img",
        "model": "tiny",
        "owner": "anonymous",
        "priority": "normal",
        "progress": {"step": step, "total": 2},
        "timings": {},
        "request": {"prompt": "x", "mode": "txt2img"},
    }


def sse(*events: tuple[str, str | None, dict[str, Any]]) -> httpx.Response:
    text = "".join(
        f"event: {name}\r\n" + (f"id: {event_id}\r\n" if event_id else "") + f"data: {json.dumps(data)}\r\n\r\n"
        for name, event_id, data in events
    )
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def scripted(answers: list[httpx.Response], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return handle


def test_503_is_retried_after_retry_after_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    answers = [problem(503, "unavailable", {"Retry-After": "0"})] * 2 + [httpx.Response(200, json={"name": "x"})]
    with Client("http://sd", retry=FAST, transport=httpx.MockTransport(scripted(answers, seen))) as sd:
        assert sd.version() == {"name": "x"}
    assert len(seen) == 3


def test_retries_are_bounded_and_4xx_is_never_retried() -> None:
    seen: list[httpx.Request] = []
    answers = [problem(429, "rate_limited", {"Retry-After": "0"})] * 4 + [problem(422, "invalid_request")]
    with Client("http://sd", retry=FAST, transport=httpx.MockTransport(scripted(answers, seen))) as sd:
        with pytest.raises(Exception) as limited:
            sd.queue()
        assert limited.value.__class__.__name__ == "RateLimited" and len(seen) == 4  # 1 + 3 retries
        with pytest.raises(InvalidRequest):
            sd.queue()
    assert len(seen) == 5


def test_a_retry_after_longer_than_max_wait_is_raised_at_once() -> None:
    seen: list[httpx.Request] = []
    answers = [problem(503, "unavailable", {"Retry-After": "120"})]
    policy = RetryPolicy(max_retries=5, max_wait=10, max_delay=300)
    transport = httpx.MockTransport(scripted(answers, seen))
    with Client("http://sd", retry=policy, transport=transport) as sd, pytest.raises(Unavailable) as refused:
        sd.queue()
    assert refused.value.retry_after == 120 and len(seen) == 1


def tokens(n: int, expires_in: int = 900) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": expires_in}
    )


def test_login_then_refresh_before_expiry_then_recover_from_a_401() -> None:
    seen: list[httpx.Request] = []
    me = httpx.Response(200, json={"user": "ann", "roles": [], "scopes": [], "method": "jwt"})
    answers = [tokens(1, 100), me, tokens(2, 100), me, problem(401, "unauthorized"), tokens(3, 100), me]
    now = [1000.0]
    with Client(
        "http://sd", username="ann", password="pw", transport=httpx.MockTransport(scripted(answers, seen))
    ) as sd:
        sd.credentials.clock = lambda: now[0]
        sd.me()
        now[0] += 80  # within a quarter of the 100 s lifetime of the end
        sd.me()
        sd.me()  # refused with a 401: refreshed once, sent again
    paths = [(r.url.path, r.headers.get("authorization")) for r in seen]
    assert paths == [
        ("/api/v1/auth/login", None),
        ("/api/v1/auth/me", "Bearer access-1"),
        ("/api/v1/auth/refresh", None),
        ("/api/v1/auth/me", "Bearer access-2"),
        ("/api/v1/auth/me", "Bearer access-2"),
        ("/api/v1/auth/refresh", None),
        ("/api/v1/auth/me", "Bearer access-3"),
    ]
    assert json.loads(seen[2].content) == {"refresh_token": "refresh-1"}


def test_api_keys_go_in_x_api_key_and_exactly_one_credential_is_accepted() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(200, json={"name": "x"})]
    with Client("http://sd", api_key="sdq_k", transport=httpx.MockTransport(scripted(answers, seen))) as sd:
        sd.download("/x")
    assert seen[0].headers["x-api-key"] == "sdq_k"
    with pytest.raises(TypeError):
        Client("http://sd", api_key="k", token="t")
    with pytest.raises(TypeError):
        Client("http://sd", username="ann")


def test_a_broken_stream_resumes_with_last_event_id() -> None:
    seen: list[httpx.Request] = []
    answers = [
        sse(("started", "1-0", {"worker": "w"}), ("progress", "2-0", {"step": 1, "total": 2})),  # ends early
        sse(("progress", "3-0", {"step": 2, "total": 2}), ("finished", "4-0", view())),
    ]
    with Client("http://sd", transport=httpx.MockTransport(scripted(answers, seen))) as sd:
        sd.follow_options = {"reconnect_delay": 0}
        events = list(Job(sd, JOB_ID).events(timeout=5))
    assert [e.event for e in events] == ["started", "progress", "progress", "finished"]
    assert "last-event-id" not in seen[0].headers and seen[1].headers["last-event-id"] == "2-0"


def test_the_job_is_polled_when_the_stream_keeps_failing() -> None:
    seen: list[httpx.Request] = []
    answers = [problem(500, "internal_error")] * 2 + [
        httpx.Response(200, json=view("started", 1)),
        httpx.Response(200, json=view("finished")),
    ]
    with Client("http://sd", transport=httpx.MockTransport(scripted(answers, seen))) as sd:
        sd.follow_options = {"max_stream_failures": 2, "reconnect_delay": 0, "poll_interval": 0}
        job = Job(sd, JOB_ID)
        final = job.wait(timeout=5)
    assert final.status is JobStatus.FINISHED and job.view == final
    assert [r.url.path.rsplit("/", 1)[-1] for r in seen] == ["events", "events", JOB_ID, JOB_ID]


def test_wait_gives_up_after_its_timeout() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=view("started", 1)) if "events" not in request.url.path else problem(503, "x")

    with Client("http://sd", transport=httpx.MockTransport(handle)) as sd:
        sd.follow_options = {"max_stream_failures": 1, "poll_interval": 0.05}
        with pytest.raises(WaitTimeout):
            Job(sd, JOB_ID).wait(timeout=0.3)


def test_the_async_client_retries_and_follows_the_same_way() -> None:
    seen: list[httpx.Request] = []
    answers = [
        problem(503, "unavailable", {"Retry-After": "0"}),
        httpx.Response(202, json={"id": JOB_ID, "position": 1, "links": {"self": f"/api/v1/jobs/{JOB_ID}"}}),
        sse(("progress", "1-0", {"step": 1, "total": 2})),
        sse(("finished", "2-0", view())),
    ]

    async def scenario() -> list[str]:
        transport = httpx.MockTransport(scripted(answers, seen))
        async with AsyncClient("http://sd", retry=FAST, transport=transport) as sd:
            sd.follow_options = {"reconnect_delay": 0}
            job = await sd.txt2img(prompt="x", steps=2)
            names = [event.event async for event in job.events(timeout=5)]
            assert job.view is not None and job.view.status is JobStatus.FINISHED
            return names

    assert asyncio.run(scenario()) == ["progress", "finished"]
    assert seen[3].headers["last-event-id"] == "1-0"
    assert json.loads(seen[1].content) == {"prompt": "x", "steps": 2}
