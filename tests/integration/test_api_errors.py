"""Bad input over real HTTP: each a 4xx problem-details answer naming the field, never a 500."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import Stack

pytestmark = pytest.mark.integration


def test_width_not_multiple_of_8_is_422_naming_width(stack: Stack) -> None:
    """width 65 → 422 whose errors[0].loc names width."""
    response = stack.submit(width=65)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    assert body["errors"][0]["loc"] == ["body", "width"]
    assert "multiple of 8" in body["errors"][0]["msg"]


def test_unknown_model_is_refused_at_submit_naming_model(stack: Stack) -> None:
    """A model that is not installed → 422 naming model, listing what is installed; nothing is queued."""
    before = requests.get(stack.url("/api/v1/queue"), timeout=10).json()["counts"]
    response = stack.submit(model="no-such-model")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unknown_model"
    assert body["errors"][0]["loc"] == ["body", "model"]
    assert "tiny" in body["errors"][0]["msg"]
    after = requests.get(stack.url("/api/v1/queue"), timeout=10).json()["counts"]
    assert after["queued"] == before["queued"]


def test_path_like_model_name_is_refused(stack: Stack) -> None:
    """A model name cannot climb out of the models folder."""
    response = stack.submit(model="../checkpoints/tiny")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "model"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"steps": 0}, "steps"),
        ({"steps": 151}, "steps"),
        ({"cfg_scale": 31}, "cfg_scale"),
        ({"seed": -2}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"batch_size": 9}, "batch_size"),
        ({"sampler": "magic"}, "sampler"),
        ({"height": 2056}, "height"),
        ({"width": "512"}, "width"),
        ({"nsfw": True}, "nsfw"),
    ],
)
def test_out_of_range_fields_are_422_naming_the_field(stack: Stack, body: dict, field: str) -> None:
    response = stack.submit(**body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][-1] == field


def test_malformed_json_is_422_problem(stack: Stack) -> None:
    response = requests.post(
        stack.url("/api/v1/generate/txt2img"),
        data=b"{not json",
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


def test_unknown_route_and_wrong_method_are_problems(stack: Stack) -> None:
    missing = requests.get(stack.url("/api/v1/nothing-here"), timeout=10)
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    wrong = requests.get(stack.url("/api/v1/generate/txt2img"), timeout=10)
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
