"""Hostile files in the models folder seen through the API: the listing answers 200 with the good model valid and
each bad file invalid with its reason, and a job for the good model is still accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schemas.settings import Settings
from server.app import create_app
from tests.unit.models import crafted
from tests.unit.models.conftest import GOOD

BAD = {
    "checkpoint:cyclic": "cycle",
    "checkpoint:deep-key": "deep",
    "checkpoint:huge-header": "limit",
    "checkpoint:fifo": "not a regular file",
    "checkpoint:deep-index": "levels deep",
    "lora:no-offsets": "data_offsets",
}


def write_models(models: Path) -> None:
    """The good single-file checkpoint and one bad file per entry of BAD."""
    checkpoints = models / "checkpoints"
    crafted.safetensors(checkpoints / "good.safetensors", GOOD, b"\0" * 4)
    crafted.ckpt(checkpoints / "cyclic.ckpt", crafted.cyclic_state_dict())
    crafted.ckpt(checkpoints / "deep-key.ckpt", crafted.deep_tuple_key(100_000))
    crafted.safetensors(checkpoints / "huge-header.safetensors", {}, length=2**63)
    os.mkfifo(checkpoints / "fifo.safetensors")
    (checkpoints / "deep-index").mkdir()
    (checkpoints / "deep-index" / "model_index.json").write_text("[" * 100_000)
    crafted.safetensors(models / "lora" / "no-offsets.safetensors", {"a": {"dtype": "F16", "shape": [1]}})


@pytest.fixture
def client(tmp_path: Path, redis_server) -> TestClient:  # type: ignore[no-untyped-def]
    write_models(tmp_path / "models")
    settings = Settings(redis_url=redis_server.url, data_dir=tmp_path, models_dir=tmp_path / "models")
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8000")


def test_the_listing_answers_200_with_bad_files_invalid_and_the_good_one_valid(client: TestClient) -> None:
    """GET /api/v1/models lists every file: the good checkpoint valid, each bad one invalid with its reason."""
    response = client.get("/api/v1/models", params={"limit": 200})
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert items["checkpoint:good"]["status"] == "valid"
    invalid = {key: item["reason"] for key, item in items.items() if item["status"] == "invalid"}
    assert set(invalid) == set(BAD)
    assert all(words in invalid[key] for key, words in BAD.items()), invalid
    assert client.get("/api/v1/models/stats").json()["invalid"] == len(BAD)


def test_a_job_for_the_good_model_is_accepted_and_one_for_a_bad_model_says_why(client: TestClient) -> None:
    """Bad files do not fail other jobs; naming one is refused with its reason."""
    assert client.post("/api/v1/generate/txt2img", json={"prompt": "x", "model": "good"}).status_code == 202
    refused = client.post("/api/v1/generate/txt2img", json={"prompt": "x", "model": "cyclic"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "model"]
    assert "(pickle puts a container inside itself (a cycle))" in refused.json()["errors"][0]["msg"]
