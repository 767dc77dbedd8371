"""The app factory without Redis: validation answers, problem shape, OpenAPI, and no torch import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schemas.settings import Settings
from server.app import create_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path, models_dir=tmp_path / "models")
    # A loopback Host: with auth off the API answers no other (server/hosts.py); TestClient's default is "testserver".
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


def test_validation_error_is_problem_json_naming_each_field(client: TestClient) -> None:
    response = client.post("/api/v1/generate/txt2img", json={"prompt": "x", "width": 65, "steps": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    assert [e["loc"] for e in body["errors"]] == [["body", "width"], ["body", "steps"]]
    assert "width" in body["detail"] and "steps" in body["detail"]


def test_no_model_installed_is_422_naming_model(client: TestClient) -> None:
    response = client.post("/api/v1/generate/txt2img", json={"prompt": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["loc"] == ["body", "model"]
    assert "no model is installed" in body["errors"][0]["msg"]


def test_redis_down_is_503_problem_not_500(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "models" / "checkpoints" / "m").mkdir(parents=True)
    (tmp_path / "models" / "checkpoints" / "m" / "model_index.json").write_text("{}")
    response = client.post("/api/v1/generate/txt2img", json={"prompt": "x"})
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert client.get("/api/v1/queue").status_code == 503
    assert client.get("/api/ready").status_code == 503
    assert client.get("/api/health").status_code == 200


def test_openapi_documents_problem_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    txt2img = spec["paths"]["/api/v1/generate/txt2img"]["post"]
    assert "202" in txt2img["responses"]
    assert "application/problem+json" in txt2img["responses"]["422"]["content"]


def test_importing_and_building_the_app_does_not_import_torch() -> None:
    """The API process must start without torch/diffusers/transformers."""
    code = (
        "import sys\n"
        "from schemas.settings import Settings\n"
        "from server.app import create_app\n"
        "create_app(Settings())\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_a_lora_tag_weight_out_of_range_is_a_422_naming_prompt_not_a_500(client: TestClient) -> None:
    """`<lora:name:9>` used to pass validation and fail at submit with a 500."""
    response = client.post("/api/v1/generate/txt2img", json={"prompt": "a fox <lora:style:9>"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "prompt"]
