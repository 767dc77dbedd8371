"""Upscale jobs and model upscalers in the hires fix, through the real API and worker, with tiny ESRGANs built in
code (spandrel loads them from models/upscalers/). Outputs are compared with the same model run in this process."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from redis import Redis

from models.upscale import load_upscaler, upscale_image
from schemas.keys import upscaler_factor_key
from tests.conftest import Stack
from tests.integration.test_image_modes import data_url, encode, fetch, noise

pytestmark = pytest.mark.integration


def submit_upscale(stack: Stack, **body: object) -> requests.Response:
    return requests.post(stack.url("/api/v1/generate/upscale"), json=body, timeout=30)


def run_upscale(stack: Stack, **body: object) -> dict:
    response = submit_upscale(stack, **body)
    assert response.status_code == 202, response.text
    return stack.wait_job(response.json()["id"])


def model_upscale(models_dir: Path, name: str, image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    descriptor = load_upscaler(models_dir / "upscalers" / name, "cpu", "float32")
    return np.asarray(upscale_image(image, size, name, descriptor, 4096, 0)).astype(int)


def test_upscalers_are_listed_with_their_type(stack: Stack) -> None:
    listing = stack.get("/api/v1/models?type=upscaler")
    names = {item["name"]: item for item in listing["items"]}
    assert {"tiny-esrgan", "tiny-esrgan-2x"} <= set(names)
    assert names["tiny-esrgan"]["arch"] == "upscaler" and names["tiny-esrgan-2x"]["format"] == "pth"


def test_lanczos_upscale_is_the_pillow_resize(stack: Stack) -> None:
    source = noise(40, 30)
    view = run_upscale(stack, image=data_url(encode(source)), upscaler="lanczos", scale=2)
    assert view["status"] == "finished", view["error"]
    assert view["mode"] == "upscale" and view["model"] == "lanczos" and view["seeds"] == []
    expected = np.asarray(source.resize((80, 60), Image.Resampling.LANCZOS)).astype(int)
    assert np.array_equal(fetch(stack, view), expected)


def test_model_upscale_in_tiles_equals_the_model_on_the_whole_image(stack: Stack, models_dir: Path) -> None:
    """Tiles of 32 px with the default 16 px context: no seams, the same pixels as one untiled pass."""
    source = noise(80, 64, seed=4)
    view = run_upscale(stack, image=data_url(encode(source)), upscaler="tiny-esrgan", scale=4, tile_size=32)
    assert view["status"] == "finished", view["error"]
    assert (view["images"][0]["width"], view["images"][0]["height"]) == (320, 256)
    assert view["progress"]["total"] == 6  # 3 x 2 tiles
    assert np.array_equal(fetch(stack, view), model_upscale(models_dir, "tiny-esrgan.safetensors", source, (320, 256)))
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Postprocess upscaler: tiny-esrgan" in png.text["parameters"]


def test_scale_other_than_the_model_factor_is_resized_to_the_exact_size(stack: Stack, models_dir: Path) -> None:
    source = noise(24, 16, seed=5)
    half = run_upscale(stack, image=data_url(encode(source)), upscaler="tiny-esrgan", scale=2.5)
    assert (half["images"][0]["width"], half["images"][0]["height"]) == (60, 40)  # one 4x pass, resized down
    twice = run_upscale(stack, image=data_url(encode(source)), upscaler="tiny-esrgan-2x", scale=8)
    assert (twice["images"][0]["width"], twice["images"][0]["height"]) == (192, 128)  # three 2x passes
    assert np.array_equal(fetch(stack, twice), model_upscale(models_dir, "tiny-esrgan-2x.pth", source, (192, 128)))


def test_hires_fix_with_a_model_upscaler_upscales_the_first_pass(stack: Stack, models_dir: Path) -> None:
    """hr_denoise 0 returns the upscaled first pass as it is, so the model's output can be checked exactly."""
    first = stack.run(seed=11, steps=2)
    hires = stack.run(seed=11, steps=2, hr_scale=2, hr_upscaler="tiny-esrgan", hr_denoise=0)
    assert hires["status"] == "finished", hires["error"]
    assert (hires["images"][0]["width"], hires["images"][0]["height"]) == (128, 128)
    first_image = Image.fromarray(fetch(stack, first).astype(np.uint8), "RGB")
    expected = model_upscale(models_dir, "tiny-esrgan.safetensors", first_image, (128, 128))
    assert np.array_equal(fetch(stack, hires), expected)


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        ({"upscaler": "no-such-model"}, ["body", "upscaler"], "unknown upscaler"),
        ({"upscaler": "../checkpoints/tiny"}, ["body", "upscaler"], "pattern"),
        ({"scale": 9}, ["body", "scale"], "less than or equal to 8"),
        ({"scale": 0.5}, ["body", "scale"], "greater than or equal to 1"),
        ({"tile_size": 8}, ["body", "tile_size"], "greater than or equal to 32"),
        ({"image": "bm90IGFuIGltYWdl"}, ["body", "image"], "not a readable image"),
        ({"image": None}, ["body", "image"], ""),
        ({"prompt": "upscales take no prompt"}, ["body", "prompt"], "Extra inputs"),
    ],
)
def test_bad_upscale_requests_are_refused_naming_the_field(stack: Stack, body: dict, loc: list, says: str) -> None:
    payload = {"image": data_url(encode(noise(16, 16))), "upscaler": "lanczos", **body}
    if payload["image"] is None:
        del payload["image"]
    response = submit_upscale(stack, **payload)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == loc and says in problem["errors"][0]["msg"]


def test_an_output_over_the_pixel_cap_is_refused_naming_scale(make_stack) -> None:
    small = make_stack(worker=False, SDQ_MAX_UPSCALE_PIXELS="10000")
    response = submit_upscale(small, image=data_url(encode(noise(40, 40))), scale=3)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "scale"] and "120x120" in error["msg"]


def test_unknown_hires_upscaler_is_refused_at_submit(stack: Stack) -> None:
    response = stack.submit(hr_scale=2, hr_upscaler="no-such-model")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "hr_upscaler"]


def test_a_file_that_is_no_upscaler_fails_the_job_with_a_reason(stack: Stack) -> None:
    view = run_upscale(stack, image=data_url(encode(noise(16, 16))), upscaler="not-an-upscaler")
    assert view["status"] == "failed"
    assert view["error"]["code"] == "model_load_failed" and "not-an-upscaler" in view["error"]["detail"]


def test_a_model_pass_over_the_cap_fails_in_the_worker_then_is_refused_at_submit(make_stack) -> None:
    """20x20 x 3 = 60x60 fits 4096 pixels, but tiny-esrgan (4x, no factor in its name) makes 80x80 first: the
    worker refuses that pass (422 naming upscaler and scale) and records the factor, so the same request is then
    refused at submit."""
    small = make_stack(SDQ_MAX_UPSCALE_PIXELS="4096")
    Redis.from_url(small.env["SDQ_REDIS_URL"]).delete(upscaler_factor_key("tiny-esrgan"))  # as if never loaded
    body = {"image": data_url(encode(noise(20, 20))), "upscaler": "tiny-esrgan", "scale": 3}
    view = run_upscale(small, **body)
    assert view["status"] == "failed"
    assert view["error"]["status"] == 422 and "80x80" in view["error"]["detail"]
    assert [e["loc"] for e in view["error"]["errors"]] == [["body", "upscaler"], ["body", "scale"]]
    again = submit_upscale(small, **body)
    assert again.status_code == 422, again.text
    assert [e["loc"] for e in again.json()["errors"]] == [["body", "upscaler"], ["body", "scale"]]
