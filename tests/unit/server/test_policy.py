"""Per-principal limits on costly requests: rates (429 + Retry-After naming the setting), the upload quota (413 naming
the field), pending watermark checks and their place in the queue; none of them with auth off."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from rq.job import Job

from auth.principal import Scope
from schemas.keys import RQ_SERIALIZER, Priority
from server.routes import watermark
from tests.unit.server.conftest import App, png

AppFactory = Callable[..., App]


def upload(app: App, headers: dict[str, str], data: bytes | None = None) -> requests.Response:
    response: requests.Response = app.client.post(
        "/api/v1/uploads", files={"file": ("x.png", data or png(), "image/png")}, headers=headers
    )
    return response


def assert_rate_limited(response: requests.Response, setting: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["code"] == "rate_limited"
    assert setting in response.json()["detail"]


def test_uploads_per_minute_are_limited(make_app: AppFactory, owner: str) -> None:
    """The upload after SDQ_UPLOADS_PER_MINUTE in a minute is a 429 naming the setting."""
    app = make_app(auth="api-key", uploads_per_minute=2)
    headers = app.headers(owner)
    assert [upload(app, headers).status_code for _ in range(2)] == [201, 201]
    assert_rate_limited(upload(app, headers), "SDQ_UPLOADS_PER_MINUTE")


def test_rates_are_kept_per_principal(make_app: AppFactory, owner: str) -> None:
    """One user's spent rate leaves another's alone."""
    app = make_app(auth="api-key", uploads_per_minute=1)
    assert upload(app, app.headers(owner)).status_code == 201
    assert upload(app, app.headers(owner)).status_code == 429
    assert upload(app, app.headers(owner + "-other")).status_code == 201


def test_the_upload_count_quota_is_a_413_naming_file(make_app: AppFactory, owner: str) -> None:
    """With SDQ_MAX_UPLOADS_PER_USER uploads stored, the next is refused before its body is read."""
    app = make_app(auth="api-key", max_uploads_per_user=2)
    headers = app.headers(owner)
    assert [upload(app, headers).status_code for _ in range(2)] == [201, 201]
    refused = upload(app, headers)
    assert refused.status_code == 413
    body = refused.json()
    assert body["code"] == "payload_too_large"
    assert body["errors"][0]["loc"] == ["body", "file"]
    assert "SDQ_MAX_UPLOADS_PER_USER" in body["detail"]


def test_the_upload_bytes_quota_refuses_and_removes_the_upload(make_app: AppFactory, owner: str) -> None:
    """An upload that would take the stored bytes past SDQ_MAX_UPLOAD_BYTES_PER_USER is refused and not kept."""
    app = make_app(auth="api-key", max_upload_bytes_per_user=20_000)
    headers = app.headers(owner)
    assert upload(app, headers, png(32, 32)).status_code == 201  # a flat image: a few hundred bytes
    refused = upload(app, headers, png(128, 128, noise=True))  # about 49 kB
    assert refused.status_code == 413
    assert "SDQ_MAX_UPLOAD_BYTES_PER_USER" in refused.json()["errors"][0]["msg"]
    assert len(list((app.settings.data_dir / "uploads").glob("upl_*.png"))) == 1


def test_stored_uploads_leave_the_quota_after_the_retention_time(make_app: AppFactory, owner: str) -> None:
    """The ledger forgets uploads older than the retention time (the sweep deletes their files then)."""
    app = make_app(auth="api-key", max_uploads_per_user=1)
    assert upload(app, app.headers(owner)).status_code == 201
    ledger = app.state.inputs.ledger
    assert ledger.usage(owner)[0] == 1
    assert ledger.usage(owner, now=10**12) == (0, 0)


def test_validate_and_estimate_share_one_rate(make_app: AppFactory, owner: str) -> None:
    """/validate and /estimate (both may fetch image URLs) count against SDQ_VALIDATIONS_PER_MINUTE together."""
    app = make_app(auth="api-key", validations_per_minute=2)
    headers = app.headers(owner)
    body = {"prompt": "a fox", "width": 64, "height": 64}
    assert app.client.post("/api/v1/validate", json=body, headers=headers).status_code == 200
    assert app.client.post("/api/v1/estimate", json=body, headers=headers).status_code == 200
    assert_rate_limited(app.client.post("/api/v1/validate", json=body, headers=headers), "SDQ_VALIDATIONS_PER_MINUTE")


def test_model_hashing_is_rate_limited(make_app: AppFactory, owner: str) -> None:
    """POST /models/{id}/hash reads a whole file: SDQ_HASHES_PER_MINUTE per principal."""
    app = make_app(auth="api-key", hashes_per_minute=1)
    headers = app.headers(owner)
    first = app.client.post("/api/v1/models/upscaler:plain/hash", headers=headers)
    assert first.status_code == 200 and first.json()["sha256"]
    assert_rate_limited(app.client.post("/api/v1/models/upscaler:plain/hash", headers=headers), "SDQ_HASHES_PER_MINUTE")


def test_a_caller_without_the_scope_is_refused_before_any_rate_is_spent(make_app: AppFactory, owner: str) -> None:
    """The scope check comes first: 403, and the rate is left as it was."""
    app = make_app(auth="api-key", uploads_per_minute=1)
    assert upload(app, app.headers(owner, (Scope.JOBS_READ,))).status_code == 403
    assert upload(app, app.headers(owner)).status_code == 201


def test_with_auth_off_no_per_principal_limit_applies(make_app: AppFactory) -> None:
    """Auth off: one local caller, no rates or quotas (as for submissions)."""
    app = make_app(uploads_per_minute=1, max_uploads_per_user=1)
    assert [upload(app, {}).status_code for _ in range(3)] == [201, 201, 201]


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Watermark checks answer at once (202) instead of waiting for a worker that the unit tests do not run."""
    monkeypatch.setattr(watermark, "WAIT_SECONDS", 0.0)


def check(app: App, headers: dict[str, str]) -> requests.Response:
    response: requests.Response = app.client.post(
        "/api/v1/watermark/check", files={"file": ("x.png", png(), "image/png")}, headers=headers
    )
    return response


@pytest.mark.usefixtures("no_wait")
def test_pending_watermark_checks_per_user_are_capped(make_app: AppFactory, owner: str) -> None:
    """With SDQ_MAX_WATERMARK_CHECKS_PER_USER checks queued, the next is a 429; once one ends, another may go."""
    app = make_app(auth="api-key", max_watermark_checks_per_user=2)
    headers = app.headers(owner)
    first, second = check(app, headers), check(app, headers)
    assert (first.status_code, second.status_code) == (202, 202)
    refused = check(app, headers)
    assert_rate_limited(refused, "SDQ_MAX_WATERMARK_CHECKS_PER_USER")
    Job.fetch(first.json()["id"], connection=app.state.redis, serializer=RQ_SERIALIZER).cancel()
    assert check(app, headers).status_code == 202


@pytest.mark.usefixtures("no_wait")
def test_watermark_checks_are_rate_limited(make_app: AppFactory, owner: str) -> None:
    """SDQ_WATERMARK_CHECKS_PER_MINUTE bounds checks even when each ends at once."""
    app = make_app(auth="api-key", watermark_checks_per_minute=1)
    headers = app.headers(owner)
    assert check(app, headers).status_code == 202
    assert_rate_limited(check(app, headers), "SDQ_WATERMARK_CHECKS_PER_MINUTE")


@pytest.mark.usefixtures("no_wait")
def test_a_watermark_check_joins_the_end_of_the_high_queue(make_app: AppFactory, owner: str) -> None:
    """A check waits behind high-priority jobs queued before it (it no longer jumps the queue); a model load still
    goes first."""
    app = make_app()
    job = app.client.post("/api/v1/generate/txt2img", json={"prompt": "a fox", "priority": "high"}).json()["id"]
    operation = check(app, {}).json()["id"]
    load = app.app.state.operations.enqueue_model_operation("load", "m").id
    high = app.state.queue.queue_for(Priority.HIGH)
    assert high.get_job_ids() == [load, job, operation]
