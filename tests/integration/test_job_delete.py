"""DELETE /api/v1/jobs/{id}/images over real HTTP against the shared stack: an ended job goes with its files and
index entries; a running one is refused naming job_id and keeps running; an unknown one is a 404."""

from __future__ import annotations

import pytest
import requests

from schemas.jobs import is_job_id
from tests.conftest import Stack

pytestmark = pytest.mark.integration


def test_an_ended_job_is_deleted_with_its_images_and_leaves_the_listing(stack: Stack) -> None:
    job = stack.run(prompt="to be deleted", width=64, height=64, steps=1, seed=3)
    job_id = job["id"]
    folder = stack.data_dir / "outputs" / job_id
    assert folder.is_dir() and any(folder.iterdir())
    assert requests.get(stack.url(job["images"][0]["url"]), timeout=10).status_code == 200
    answer = requests.delete(stack.url(f"/api/v1/jobs/{job_id}/images"), timeout=10)
    assert answer.status_code == 204, answer.text
    assert not folder.exists()
    gone = requests.get(stack.url(f"/api/v1/jobs/{job_id}"), timeout=10)
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert requests.get(stack.url(job["images"][0]["url"]), timeout=10).status_code == 404
    listed = [j["id"] for j in stack.get("/api/v1/jobs?limit=100")["items"]]
    assert job_id not in listed
    assert requests.delete(stack.url(f"/api/v1/jobs/{job_id}/images"), timeout=10).status_code == 404


def test_a_running_job_is_refused_naming_job_id(stack: Stack) -> None:
    job_id = stack.submit_id(prompt="still running", width=256, height=256, steps=150)
    stack.wait_job(job_id, until=lambda view: view["status"] in ("started", "finished", "failed"))
    answer = requests.delete(stack.url(f"/api/v1/jobs/{job_id}/images"), timeout=10)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["errors"][0]["loc"] == ["path", "job_id"] and "cancel it first" in body["errors"][0]["msg"]
    requests.post(stack.url(f"/api/v1/jobs/{job_id}/cancel"), timeout=10)
    assert stack.wait_job(job_id)["status"] == "canceled"
    assert is_job_id(job_id)
