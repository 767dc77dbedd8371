"""``/api/ready``: with no worker alive it is 503, unless asked with ``?workers=false`` (an API whose workers scale
to zero); a Redis outage is 503 either way. Every answer carries an ``X-Request-ID``."""

from __future__ import annotations

from tests.conftest import free_port


def test_no_worker_is_not_ready_unless_workers_are_not_required(make_app) -> None:
    client = make_app().client
    refused = client.get("/api/ready")
    assert refused.status_code == 503 and refused.json()["detail"] == "no worker heartbeat"
    answer = client.get("/api/ready", params={"workers": "false"})
    assert answer.status_code == 200 and "0 worker(s)" in answer.json()["detail"]
    assert client.get("/api/ready", params={"workers": "maybe"}).status_code == 422


def test_redis_down_is_not_ready_even_without_requiring_workers(make_app) -> None:
    client = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0").client
    assert client.get("/api/ready", params={"workers": "false"}).status_code == 503


def test_every_answer_carries_a_request_id(make_app) -> None:
    client = make_app().client
    made = client.get("/api/health").headers["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/api/health", headers={"X-Request-ID": "abc.1"}).headers["X-Request-ID"] == "abc.1"
    refused = client.get("/api/health", headers={"Host": "evil.example", "X-Request-ID": "r-9"})
    assert refused.status_code == 421 and refused.headers["X-Request-ID"] == "r-9"
