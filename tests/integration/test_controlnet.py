"""ControlNet jobs through the API and the real worker: sizes, the control image really steering the model, the
canny preprocessor, several ControlNets, ControlNet img2img, and every bad input refused at submit (422 naming the
field, nothing queued)."""

from __future__ import annotations

import io
import shutil
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

from tests.conftest import Stack, launch_stack
from tests.integration.test_image_modes import data_url, encode, fetch, noise

pytestmark = pytest.mark.integration


def shape(width: int = 64, height: int = 64, box: tuple[int, int, int, int] = (16, 16, 47, 47)) -> str:
    """A data URL of a white rectangle on black."""
    image = Image.new("RGB", (width, height))
    ImageDraw.Draw(image).rectangle(box, fill="white")
    return data_url(encode(image))


def unit(**fields: Any) -> dict[str, Any]:
    return {"controlnet": "tiny-cn", "control_image": shape(), **fields}


def submit(stack: Stack, *units: dict[str, Any], **body: Any) -> requests.Response:
    payload = {"prompt": "a house", "steps": 2, "seed": 3, "controlnets": list(units) or [unit()], **body}
    return requests.post(stack.url("/api/v1/generate/controlnet"), json=payload, timeout=30)


def run(stack: Stack, *units: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = submit(stack, *units, **body)
    assert response.status_code == 202, response.text
    view: dict[str, Any] = stack.wait_job(response.json()["id"])
    assert view["status"] == "finished", view["error"]
    return view


def test_controlnet_job_takes_the_control_image_size_and_names_uploads(stack: Stack) -> None:
    view = run(stack, unit(control_image=shape(100, 75)), batch_size=2)
    assert view["mode"] == "controlnet"
    assert [(image["width"], image["height"]) for image in view["images"]] == [(96, 72), (96, 72)]
    assert view["request"]["controlnets"][0]["control_image"].startswith("upl_")
    sized = run(stack, unit(control_image=shape(100, 75)), width=128, height=64, resize_mode="crop_and_resize")
    assert (sized["images"][0]["width"], sized["images"][0]["height"]) == (128, 64)
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    expected = 'ControlNet 0: "Module: none, Model: tiny-cn, Weight: 1, Guidance Start: 0, Guidance End: 1"'
    assert expected in png.text["parameters"]
    assert "Denoising strength" not in png.text["parameters"]


def test_the_control_image_reaches_the_model(stack: Stack) -> None:
    """Same control image and seed: the same pixels. Another control image: other pixels at scale 1, exactly the
    same ones at scale 0, which are also plain txt2img's (a ControlNet at scale 0 adds nothing)."""
    square, bar = shape(), shape(box=(0, 28, 63, 35))
    first = fetch(stack, run(stack, unit(control_image=square)))
    again = fetch(stack, run(stack, unit(control_image=square), force_regenerate=True))  # generated, not cached
    other = fetch(stack, run(stack, unit(control_image=bar)))
    assert np.array_equal(first, again)
    assert np.abs(first - other).mean() > 1
    off = fetch(stack, run(stack, unit(control_image=square, conditioning_scale=0)))
    off_other = fetch(stack, run(stack, unit(control_image=bar, conditioning_scale=0)))
    plain = fetch(stack, stack.run(prompt="a house", width=64, height=64, steps=2, seed=3))
    assert np.array_equal(off, off_other)
    assert np.array_equal(off, plain)


def test_canny_runs_at_submit_and_the_worker_gets_the_edge_map(stack: Stack) -> None:
    photo = Image.new("RGB", (64, 64), (90, 60, 30))
    ImageDraw.Draw(photo).ellipse((12, 12, 51, 51), fill=(250, 240, 200))
    view = run(
        stack, unit(control_image=data_url(encode(photo)), preprocessor="canny", low_threshold=50, high_threshold=150)
    )
    edges = np.asarray(Image.open(stack.data_dir / "inputs" / view["id"] / "control_image_0.png").convert("L"))
    assert set(np.unique(edges)) == {0, 255}
    assert edges[32, 32] == 0 and edges[2, 2] == 0  # inside the circle and the background: no edge
    assert edges[10:15, 28:36].any() and edges[28:36, 10:15].any()  # its border (top and left): edges
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Module: canny" in png.text["parameters"] and "Threshold A: 50, Threshold B: 150" in png.text["parameters"]
    plain = run(stack, unit(control_image=data_url(encode(photo))))
    assert not np.array_equal(fetch(stack, view), fetch(stack, plain))


def test_two_controlnets_run_in_one_job(stack: Stack) -> None:
    both = run(
        stack,
        unit(),
        unit(
            controlnet="tiny-cn-2", control_image=shape(box=(0, 28, 63, 35)), conditioning_scale=0.7, guidance_end=0.5
        ),
        steps=4,
    )
    assert len(both["request"]["controlnets"]) == 2 and both["images"][0]["width"] == 64
    first_only = run(stack, unit(), steps=4)
    second_off = run(stack, unit(), unit(controlnet="tiny-cn-2", conditioning_scale=0), steps=4)
    assert not np.array_equal(fetch(stack, both), fetch(stack, first_only))
    assert np.array_equal(fetch(stack, second_off), fetch(stack, first_only))
    png = Image.open(io.BytesIO(requests.get(stack.url(both["images"][0]["url"]), timeout=10).content))
    expected = 'ControlNet 1: "Module: none, Model: tiny-cn-2, Weight: 0.7, Guidance Start: 0, Guidance End: 0.5"'
    assert expected in png.text["parameters"]


def test_controlnet_img2img_takes_the_init_image_size(stack: Stack) -> None:
    init = noise(80, 72, seed=4)
    view = run(stack, unit(control_image=shape(64, 64)), init_image=data_url(encode(init)), strength=0.5, steps=4)
    assert (view["images"][0]["width"], view["images"][0]["height"]) == (80, 72)
    assert view["progress"]["total"] == 4
    png = Image.open(io.BytesIO(requests.get(stack.url(view["images"][0]["url"]), timeout=10).content))
    assert "Denoising strength: 0.5" in png.text["parameters"]
    unchanged = run(stack, unit(), init_image=data_url(encode(init)), strength=0)
    assert np.array_equal(fetch(stack, unchanged), np.asarray(init).astype(int))


def test_a_running_controlnet_job_can_be_canceled(stack: Stack) -> None:
    response = submit(stack, unit(), width=512, height=512, steps=100)
    job_id = response.json()["id"]
    stack.wait_job(job_id, until=lambda view: view["status"] == "started" and view["progress"]["step"] >= 1)
    assert requests.post(stack.url(f"/api/v1/jobs/{job_id}/cancel"), timeout=10).status_code == 202
    view = stack.wait_job(job_id)
    assert view["status"] == "canceled" and view["images"] == []


@pytest.fixture(scope="module")
def paused(redis_server, models_dir, tmp_path_factory) -> Any:  # type: ignore[no-untyped-def]
    """An API with no worker: whatever got queued would stay queued."""
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("paused"),
        worker=False,
        SDQ_QUEUE_NAME="controlnet-paused",
    )
    yield stack
    stack.stop()


BROKEN = data_url(encode(noise(64, 64)))[:-40] + "@@@"


@pytest.mark.parametrize(
    ("units", "loc", "words"),
    [
        ([{"controlnet": "tiny-cn"}], ["controlnets", 0, "control_image"], "Field required"),
        ([unit(control_image=data_url(b"not an image"))], ["controlnets", 0, "control_image"], "not a readable image"),
        ([unit(control_image=BROKEN)], ["controlnets", 0, "control_image"], "base64"),
        ([unit(), unit(control_image="upl_" + "0" * 32)], ["controlnets", 1, "control_image"], "unknown upload"),
        ([unit(controlnet="no-such-net")], ["controlnets", 0, "controlnet"], "tiny-cn"),
        ([unit(guidance_start=0.6, guidance_end=0.4)], ["controlnets", 0], "guidance_start"),
        ([unit(low_threshold=200, high_threshold=100)], ["controlnets", 0], "low_threshold"),
        ([unit(preprocessor="openpose")], ["controlnets", 0, "preprocessor"], "canny"),
        ([], ["controlnets"], "at least 1"),
    ],
    ids=[
        "missing",
        "not-an-image",
        "broken-base64",
        "unknown-upload",
        "unknown-net",
        "guidance",
        "thresholds",
        "preprocessor",
        "no-units",
    ],
)
def test_bad_controlnet_requests_are_422_naming_the_field(
    paused: Stack, units: list[dict[str, Any]], loc: list[Any], words: str
) -> None:
    response = requests.post(
        paused.url("/api/v1/generate/controlnet"), json={"prompt": "a house", "controlnets": units}, timeout=30
    )
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", *loc]
    assert words in error["msg"]
    assert paused.get("/api/v1/queue")["counts"]["queued"] == 0
    assert not (paused.data_dir / "inputs").exists() and not (paused.data_dir / "uploads").exists()


def test_controlnets_of_another_family_and_single_files_are_refused(make_stack, models_dir, tmp_path) -> None:
    from models.tiny import write_tiny_model
    from tests.unit.models.test_registry import write_safetensors

    own = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", own / "checkpoints" / "tiny")
    shutil.copytree(models_dir / "controlnet" / "tiny-cn", own / "controlnet" / "tiny-cn")
    write_tiny_model(own / "checkpoints" / "xl", arch="sdxl")
    write_safetensors(
        own / "controlnet" / "canny-single.safetensors",
        {"control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": [320, 768]},
    )
    stack = make_stack(worker=False, SDQ_MODELS_DIR=str(own))
    models = {m["id"]: m for m in stack.get("/api/v1/models?type=controlnet")["items"]}
    assert {k: (m["arch"], m["format"]) for k, m in models.items()} == {
        "controlnet:tiny-cn": ("sd1", "diffusers"),
        "controlnet:canny-single": ("sd1", "safetensors"),
    }
    foreign = submit(stack, unit(), model="xl")
    assert foreign.status_code == 422
    error = foreign.json()["errors"][0]
    assert error["loc"] == ["body", "controlnets", 0, "controlnet"]
    assert "sd1" in error["msg"] and "sdxl" in error["msg"]
    single = submit(stack, unit(), unit(controlnet="canny-single"))
    assert single.status_code == 422 and single.json()["errors"][0]["loc"] == ["body", "controlnets", 1, "controlnet"]
    assert submit(stack, unit()).status_code == 202  # the same ControlNet on its own family's model is queued
    parameters = stack.get("/api/v1/parameters")
    assert parameters["controlnets"] == ["canny-single", "tiny-cn"] and parameters["preprocessors"] == ["none", "canny"]
    assert "controlnet" in parameters["modes"]
