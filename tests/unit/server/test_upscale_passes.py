"""Submit refuses upscales and hires fixes whose model passes would pass SDQ_MAX_UPSCALE_PIXELS, where the model's
factor is known (here from its name; see tests/unit/schemas/test_upscalers.py for the worker's record)."""

from __future__ import annotations

import base64
from collections.abc import Callable

from tests.unit.server.conftest import App, png

AppFactory = Callable[..., App]


def test_an_upscale_whose_model_pass_is_too_large_is_a_422_naming_upscaler(make_app: AppFactory) -> None:
    """1024x1024 x 2 is a fine output, but a 16x model's one pass would make 16384x16384."""
    app = make_app()
    image = base64.b64encode(png(1024, 1024)).decode()
    response = app.client.post("/api/v1/generate/upscale", json={"image": image, "upscaler": "big-16x", "scale": 2})
    assert response.status_code == 422, response.text
    body = response.json()
    assert [error["loc"] for error in body["errors"]] == [["body", "upscaler"], ["body", "scale"]]
    assert "16384x16384" in body["detail"] and "(from its name)" in body["detail"]


def test_the_same_upscale_with_a_resampler_is_accepted(make_app: AppFactory) -> None:
    """Resamplers make the output directly: only the final size counts."""
    app = make_app()
    image = base64.b64encode(png(1024, 1024)).decode()
    response = app.client.post("/api/v1/generate/upscale", json={"image": image, "upscaler": "lanczos", "scale": 2})
    assert response.status_code == 202, response.text


def test_a_model_of_unknown_factor_is_left_to_the_worker(make_app: AppFactory) -> None:
    """Without a recorded or named factor the submit passes; the worker checks each pass before running it."""
    app = make_app()
    image = base64.b64encode(png(1024, 1024)).decode()
    response = app.client.post("/api/v1/generate/upscale", json={"image": image, "upscaler": "plain", "scale": 2})
    assert response.status_code == 202, response.text


def test_a_hires_fix_whose_model_pass_is_too_large_is_a_422_naming_hr_upscaler(make_app: AppFactory) -> None:
    """1024 -> 2048 with a 16x model passes through 16384x16384: refused at submit (and by /validate)."""
    app = make_app()
    body = {"prompt": "a fox", "width": 1024, "height": 1024, "hr_scale": 2, "hr_upscaler": "big-16x"}
    for path in ("/api/v1/generate/txt2img", "/api/v1/validate"):
        response = app.client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert [error["loc"] for error in response.json()["errors"]] == [["body", "hr_upscaler"], ["body", "hr_scale"]]
