"""SD3 and Flux.1 (dev, schnell) diffusers folders through the API and the real worker: listed with their
architecture, txt2img and img2img at the requested size with the family's defaults, and the 422s of what a family
does not take."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.conftest import RedisServer, Stack, launch_stack

pytestmark = pytest.mark.integration

TINY = {"sd3": "sd3", "flux-dev": "flux", "flux-schnell": "flux-schnell"}  # checkpoint name -> tiny-model arch


@pytest.fixture(scope="module")
def family_stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One API + worker on a models folder holding tiny sd3, flux-dev and flux-schnell diffusers folders."""
    from models.tiny import write_tiny_model

    models = tmp_path_factory.mktemp("family-models")
    for name, arch in TINY.items():
        write_tiny_model(models / "checkpoints" / name, arch=arch)
    queue = f"families-{models.name}"
    stack = launch_stack(
        redis_server.url, models, tmp_path_factory.mktemp("family-data"), SDQ_DEFAULT_MODEL="sd3", SDQ_QUEUE_NAME=queue
    )
    yield stack
    stack.stop()


def submit(stack: Stack, mode: str, **body: object) -> requests.Response:
    body.setdefault("prompt", "a lighthouse at dusk")
    return requests.post(stack.url(f"/api/v1/generate/{mode}"), json=body, timeout=30)


def run(stack: Stack, mode: str, **body: object) -> tuple[dict, Image.Image]:
    response = submit(stack, mode, **body)
    assert response.status_code == 202, response.text
    view = stack.wait_job(response.json()["id"], timeout=120)
    assert view["status"] == "finished", view
    png = requests.get(stack.url(view["images"][0]["url"]), timeout=10).content
    image = Image.open(io.BytesIO(png))
    image.load()
    return view, image


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_family_folders_are_listed_with_architecture_and_samplers(family_stack: Stack) -> None:
    listed = family_stack.get("/api/v1/models?type=checkpoint")["items"]
    assert {(e["name"], e["arch"], e["variant"]) for e in listed} == {
        ("sd3", "sd3", "sd3"),
        ("flux-dev", "flux", "dev"),
        ("flux-schnell", "flux", "schnell"),
    }
    flux = [s["name"] for s in family_stack.get("/api/v1/samplers?model=flux-dev")]
    assert flux == ["euler", "euler_a", "lcm"]
    assert "heun" in [s["name"] for s in family_stack.get("/api/v1/samplers?model=sd3")]
    assert len(family_stack.get("/api/v1/samplers")) == 16
    unknown = requests.get(family_stack.url("/api/v1/samplers?model=nope"), timeout=10)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["query", "model"]
    parameters = family_stack.get("/api/v1/parameters")
    assert parameters["model_families"] == {"sd3": "sd3", "flux-dev": "flux-dev", "flux-schnell": "flux-schnell"}
    assert parameters["families"]["flux-schnell"]["default_steps"] == 4


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_txt2img_then_img2img_through_the_worker(family_stack: Stack, model: str) -> None:
    view, image = run(family_stack, "txt2img", model=model, width=96, height=64, steps=2, seed=5)
    assert image.size == (96, 64)
    text = image.text["parameters"]
    assert f"Model: {model}" in text and "Sampler: Euler," in text and "Steps: 2" in text
    assert view["request"]["sampler"] == "euler"  # the family's default, stored with the job
    edit, edited = run(
        family_stack, "img2img", model=model, init_image=png_data_url(image), strength=0.5, steps=2, seed=5
    )
    assert (edit["request"]["width"], edit["request"]["height"], edited.size) == (96, 64, (96, 64))
    assert "Denoising strength: 0.5" in edited.text["parameters"]
    assert edited.tobytes() != image.tobytes()


def test_schnell_defaults_and_an_input_off_the_latent_grid(family_stack: Stack) -> None:
    """schnell runs 4 steps unless told; an img2img input of 72x72 (a multiple of 8, not of 16) comes back 72x72."""
    view, image = run(family_stack, "txt2img", model="flux-schnell", width=64, height=64, seed=1)
    assert view["request"]["steps"] == 4 and "Steps: 4" in image.text["parameters"]
    source = Image.new("RGB", (72, 72), (200, 40, 40))
    _, edited = run(family_stack, "img2img", model="flux-schnell", init_image=png_data_url(source), steps=2)
    assert edited.size == (72, 72)


@pytest.mark.parametrize(
    ("mode", "body", "field"),
    [
        ("txt2img", {"model": "flux-dev", "negative_prompt": "blurry"}, "negative_prompt"),
        ("txt2img", {"model": "flux-schnell", "sampler": "dpmpp_2m"}, "sampler"),
        ("txt2img", {"model": "sd3", "sampler": "DPM2 a"}, "sampler"),
        ("txt2img", {"model": "flux-dev", "width": 72}, "width"),
        ("inpaint", {"model": "sd3", "image": "upl_" + "0" * 32, "mask": "upl_" + "1" * 32}, "model"),
    ],
)
def test_what_a_family_does_not_take_is_422_naming_the_field(
    family_stack: Stack, mode: str, body: dict, field: str
) -> None:
    response = submit(family_stack, mode, **body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", field]


def test_tiny_model_cli_writes_a_detectable_folder(tmp_path: Path) -> None:
    from cli.main import main
    from models.detect import detect_diffusers_pipeline
    from schemas.models import Arch

    assert main(["tiny-model", str(tmp_path / "sd3"), "--arch", "sd3"]) == 0
    assert detect_diffusers_pipeline(tmp_path / "sd3").arch is Arch.SD3
