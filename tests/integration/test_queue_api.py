"""Request helpers that do not enqueue (validate, estimate, parameters), job listing, and previews."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import pytest
import requests
from PIL import Image

from tests.conftest import Stack
from tests.sse import open_stream, read_until_terminal

pytestmark = pytest.mark.integration


def post(stack: Stack, path: str, body: dict) -> requests.Response:
    return requests.post(stack.url(path), json=body, timeout=10)


def test_validate_runs_every_check_without_queueing(stack: Stack) -> None:
    before = stack.get("/api/v1/queue")["counts"]
    ok = post(stack, "/api/v1/validate", {"prompt": "x", "width": 128})
    assert ok.status_code == 200
    assert ok.json()["valid"] is True and ok.json()["model"] == "tiny"
    bad = post(stack, "/api/v1/validate", {"prompt": "x", "model": "missing"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "model"]
    assert post(stack, "/api/v1/validate", {"prompt": "x", "steps": 0}).status_code == 422
    after = stack.get("/api/v1/queue")["counts"]
    assert sum(after.values()) == sum(before.values())


def test_estimate_has_no_data_then_measured_then_scaled(make_stack) -> None:
    fresh = make_stack(SDQ_DEFAULT_MODEL="tiny")
    body = {"prompt": "x", "width": 128, "height": 128, "steps": 4}
    # Stats are per model across queues; use a size nothing else in this session runs.
    first = post(fresh, "/api/v1/estimate", {**body, "width": 136, "height": 136}).json()
    assert first["basis"] in ("none", "scaled")
    fresh.run(**body, seed=1)
    measured = post(fresh, "/api/v1/estimate", body).json()
    assert measured["basis"] == "measured"
    assert measured["seconds"] > 0
    assert (measured["queued_ahead"], measured["workers_alive"], measured["wait_seconds"]) == (0, 1, 0)
    double = post(fresh, "/api/v1/estimate", {**body, "steps": 8, "batch_size": 2}).json()
    assert double["seconds"] > measured["seconds"] * 2
    scaled = post(fresh, "/api/v1/estimate", {**body, "width": 256, "height": 256}).json()
    assert scaled["basis"] in ("scaled", "measured")


def test_estimate_without_data_says_so(make_stack, models_dir, tmp_path) -> None:
    import shutil

    other = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", other / "checkpoints" / "fresh-model")
    stack = make_stack(worker=False, SDQ_MODELS_DIR=str(other), SDQ_DEFAULT_MODEL="fresh-model")
    answer = post(stack, "/api/v1/estimate", {"prompt": "x"}).json()
    assert answer["seconds"] is None
    assert answer["basis"] == "none"
    assert "fresh-model" in answer["detail"]


def test_parameters_describe_fields_limits_and_choices(stack: Stack) -> None:
    params = stack.get("/api/v1/parameters")
    fields = params["modes"]["txt2img"]["properties"]
    assert fields["width"]["minimum"] == 64 and fields["width"]["maximum"] == 2048
    assert fields["width"]["multipleOf"] == 8 and fields["width"]["default"] == 512
    assert fields["steps"]["maximum"] == 150
    assert "euler_a" in [s["name"] for s in params["samplers"]]
    assert params["priorities"] == ["high", "normal", "low"]
    assert "tiny" in params["models"]


def test_job_list_filters_and_pages(make_stack) -> None:
    stack = make_stack()
    since = datetime.now(UTC).isoformat()
    ok = [stack.run(seed=s)["id"] for s in range(3)]
    bad = stack.run(model="broken")["id"]
    listed = stack.get("/api/v1/jobs?limit=10")
    assert [j["id"] for j in listed["items"]] == [bad, *reversed(ok)]
    assert stack.get("/api/v1/jobs?status=failed")["items"][0]["id"] == bad
    assert len(stack.get("/api/v1/jobs?status=finished")["items"]) == 3
    page1 = stack.get("/api/v1/jobs?limit=2&page=1")
    page2 = stack.get("/api/v1/jobs?limit=2&page=2")
    assert page1["has_more"] is True and page2["has_more"] is False
    assert [j["id"] for j in page1["items"] + page2["items"]] == [bad, *reversed(ok)]
    assert len(stack.get(f"/api/v1/jobs?since={since.replace('+', '%2B')}")["items"]) == 4
    assert stack.get("/api/v1/jobs?mode=img2img")["items"] == []
    assert requests.get(stack.url("/api/v1/jobs?status=bogus"), timeout=10).status_code == 422


def test_previews_every_n_steps_when_enabled(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_PREVIEW_EVERY="2")
    job_id = stack.submit_id(width=256, height=192, steps=4, seed=1)
    stream = open_stream(stack.url(f"/api/v1/jobs/{job_id}/events"))
    stack.start_worker()
    assert stack.get("/api/v1/queue")["workers"][0]["previews"] == "approximation"
    events = read_until_terminal(stream)
    assert events[-1]["event"] == "finished"
    previews = [e["data"] for e in events if e["event"] == "preview"]
    assert [p["step"] for p in previews] == [2, 4]
    header, payload = previews[0]["image"].split(",", 1)
    assert header == "data:image/webp;base64"
    with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
        assert max(image.size) == 128
        assert image.size == (128, 96)
