"""Live jobs: the SSE stream (order, resume, after the end), cancel queued and running jobs, priorities."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import Stack
from tests.sse import events, open_stream, read_until_terminal

pytestmark = pytest.mark.integration

LONG = {"width": 512, "height": 512, "steps": 100}  # ~0.1 s a step with the tiny model on a CPU


def started_with_steps(min_step: int = 2):  # type: ignore[no-untyped-def]
    return lambda view: view["status"] == "started" and view["progress"]["step"] >= min_step


def test_event_stream_order_resume_and_late_client(make_stack) -> None:
    """queued → started → progress… → finished, in order; Last-Event-ID resumes without repeats; a client
    connecting after the end gets the terminal event at once, with the same body as GET /jobs/{id}."""
    paused = make_stack(worker=False)
    job_id = paused.submit_id(steps=4, seed=5)
    stream = open_stream(paused.url(f"/api/v1/jobs/{job_id}/events"))
    reader = events(stream)
    first = next(reader)
    assert first["event"] == "queued"
    assert first["data"] == {"position": 1}

    paused.start_worker()
    rest = []
    for event in reader:
        rest.append(event)
        if event["event"] == "finished":
            break
    stream.close()
    names = [e["event"] for e in rest]
    assert names[0] == "started"
    assert names[-1] == "finished"
    progress = [e["data"] for e in rest if e["event"] == "progress"]
    steps = [p["step"] for p in progress if p["stage"] == "denoising" and p["step"] > 0]
    assert steps == [1, 2, 3, 4]
    assert progress[-1]["stage"] == "saving"
    assert all(p["its"] > 0 for p in progress if p["stage"] == "denoising" and p["step"] > 0)
    final = rest[-1]["data"]
    assert final == paused.get(f"/api/v1/jobs/{job_id}")
    assert final["status"] == "finished" and len(final["images"]) == 1

    # Resume after the "started" event: exactly the events that followed it, no repeats.
    started_id = rest[0]["id"]
    resumed = read_until_terminal(open_stream(paused.url(f"/api/v1/jobs/{job_id}/events"), started_id))
    assert [e.get("id") for e in resumed] == [e.get("id") for e in rest[1:]]

    # A late client: only the terminal event, at once.
    began = time.monotonic()
    late = read_until_terminal(open_stream(paused.url(f"/api/v1/jobs/{job_id}/events")))
    assert [e["event"] for e in late] == ["finished"]
    assert late[0]["data"]["images"] == final["images"]
    assert time.monotonic() - began < 2


def test_events_of_unknown_job_is_404(stack: Stack) -> None:
    response = requests.get(stack.url(f"/api/v1/jobs/{'a' * 32}/events"), timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_cancel_queued_job_never_runs(make_stack) -> None:
    """A queued job leaves the queue at once: canceled, never started, no files; the others still run."""
    paused = make_stack(worker=False)
    keep = paused.submit_id(seed=1)
    drop = paused.submit_id(seed=2)
    response = requests.post(paused.url(f"/api/v1/jobs/{drop}/cancel"), timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert paused.get(f"/api/v1/jobs/{drop}")["status"] == "canceled"
    queued = paused.get("/api/v1/queue")["jobs"]
    assert [j["id"] for j in queued] == [keep]

    paused.start_worker()
    assert paused.wait_job(keep)["status"] == "finished"
    view = paused.get(f"/api/v1/jobs/{drop}")
    assert view["status"] == "canceled"
    assert view["timings"]["started_at"] is None
    assert not (paused.data_dir / "outputs" / drop).exists()
    again = requests.delete(paused.url(f"/api/v1/jobs/{drop}"), timeout=10)
    assert again.status_code == 200
    assert again.json()["status"] == "canceled"


def test_cancel_running_job_stops_within_a_step(stack: Stack) -> None:
    """A running job stops at its next step: canceled, no images, no files; the next job runs."""
    job_id = stack.submit_id(**LONG, seed=3)
    stack.wait_job(job_id, until=started_with_steps(2))
    asked = time.monotonic()
    response = requests.delete(stack.url(f"/api/v1/jobs/{job_id}"), timeout=10)
    assert response.status_code == 202
    view = stack.wait_job(job_id, timeout=30)
    latency = time.monotonic() - asked
    print(f"cancel_to_canceled_seconds={latency:.3f}")
    assert view["status"] == "canceled"
    assert view["progress"]["step"] < 100
    assert view["images"] == []
    assert latency < 5
    assert not (stack.data_dir / "outputs" / job_id).exists()
    assert stack.run(seed=4)["status"] == "finished"


def test_priority_high_runs_before_normal_and_low(make_stack) -> None:
    paused = make_stack(worker=False)
    low = paused.submit_id(priority="low", seed=1)
    normal = paused.submit_id(seed=2)
    high = paused.submit_id(priority="high", seed=3)
    order = [j["id"] for j in paused.get("/api/v1/queue")["jobs"]]
    assert order == [high, normal, low]
    assert paused.get(f"/api/v1/jobs/{low}")["position"] == 3
    assert paused.get(f"/api/v1/jobs/{high}")["priority"] == "high"

    paused.start_worker()
    views = [paused.wait_job(j) for j in (high, normal, low)]
    started = [v["timings"]["started_at"] for v in views]
    assert started == sorted(started)


def test_clear_cancels_every_queued_job(make_stack) -> None:
    paused = make_stack(worker=False)
    ids = [paused.submit_id(seed=s) for s in range(3)]
    response = requests.post(paused.url("/api/v1/queue/clear"), timeout=10)
    assert response.json() == {"canceled": 3}
    assert [paused.get(f"/api/v1/jobs/{i}")["status"] for i in ids] == ["canceled"] * 3
    assert paused.get("/api/v1/queue")["counts"]["queued"] == 0


def test_queued_event_follows_the_position_as_it_moves(make_stack) -> None:
    """While a job waits, its stream sends a new `queued` event when the jobs ahead of it leave."""
    paused = make_stack(worker=False)
    ahead = paused.submit_id(seed=1)
    mine = paused.submit_id(seed=2)
    stream = open_stream(paused.url(f"/api/v1/jobs/{mine}/events"))
    reader = events(stream)
    first = next(reader)
    assert (first["event"], first["data"]) == ("queued", {"position": 2})
    requests.post(paused.url(f"/api/v1/jobs/{ahead}/cancel"), timeout=10)
    moved = next(reader)
    stream.close()
    assert moved["event"] == "queued"
    assert moved["data"] == {"position": 1}
