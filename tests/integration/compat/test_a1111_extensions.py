"""The rest of the AUTOMATIC1111 API, driven by the real ``webuiapi`` client: Extras upscaling, ControlNet units,
the lists, progress with the preview, skip, a client that hangs up, and the same calls with auth on."""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import webuiapi
from PIL import Image

from tests.conftest import Stack, wait_until
from tests.integration.compat.a1111_stacks import PASSWORDS, client

pytestmark = pytest.mark.integration


def job_of(stack: Stack, html_info: str) -> dict[str, Any]:
    job_id = html_info.removeprefix("<p>sdqueue job ").removesuffix("</p>")
    view: dict[str, Any] = stack.get(f"/api/v1/jobs/{job_id}")
    return view


def problem_of(error: RuntimeError) -> dict[str, Any]:
    status, text = error.args
    assert status == 422, text
    body: dict[str, Any] = requests.models.complexjson.loads(text)
    return body


def test_extra_single_image_upscales_with_a_model_or_a_resampler(open_stack: Stack) -> None:
    """upscaler_1 names an installed model (4x, resized to the asked 2x) or a resampler; resize_mode 1 covers
    w x h and crops to it; each call is a native upscale job."""
    api = client(open_stack)
    result = api.extra_single_image(image=Image.new("RGB", (32, 32), (90, 30, 60)), upscaler_1="TINY-esrgan")
    assert result.image.size == (64, 64)
    job = job_of(open_stack, result.info)
    assert (job["mode"], job["status"], job["request"]["upscaler"]) == ("upscale", "finished", "tiny-esrgan")
    cropped = api.extra_single_image(
        image=Image.new("RGB", (32, 16), (10, 200, 10)),
        resize_mode=1,
        upscaling_resize_w=48,
        upscaling_resize_h=48,
        upscaler_1="Lanczos",
    )
    assert cropped.image.size == (48, 48)
    assert cropped.image.convert("RGB").getpixel((24, 24)) == (10, 200, 10)


def test_extra_batch_images_upscales_each_image(open_stack: Stack) -> None:
    images = [Image.new("RGB", (16, 16), (200, 0, 0)), Image.new("RGB", (24, 8), (0, 0, 200))]
    result = client(open_stack).extra_batch_images(images=images, upscaler_1="Nearest", upscaling_resize=3)
    assert [image.size for image in result.images] == [(48, 48), (72, 24)]
    assert result.images[1].convert("RGB").getpixel((5, 5)) == (0, 0, 200)


def test_extras_refuse_an_unknown_upscaler_and_a_bad_scale_naming_the_field(open_stack: Stack) -> None:
    api = client(open_stack)
    source = Image.new("RGB", (16, 16))
    with pytest.raises(RuntimeError) as unknown:
        api.extra_single_image(image=source, upscaler_1="R-ESRGAN 4x+")
    problem = problem_of(unknown.value)
    assert problem["errors"][0]["loc"] == ["body", "upscaler_1"] and "R-ESRGAN 4x+" in problem["detail"]
    with pytest.raises(RuntimeError) as too_large:
        api.extra_single_image(image=source, upscaler_1="Lanczos", upscaling_resize=20)
    assert problem_of(too_large.value)["errors"][0]["loc"] == ["body", "upscaling_resize"]


def test_a_controlnet_unit_steers_txt2img_as_a_native_controlnet_job(open_stack: Stack) -> None:
    """alwayson_scripts.ControlNet.args units (as webuiapi sends them) become the job's controlnets; the same seed
    without a unit gives another image; other extensions in alwayson_scripts are ignored."""
    api = client(open_stack)
    control = Image.new("RGB", (64, 64), 0)
    control.paste((255, 255, 255), (16, 16, 48, 48))
    unit = webuiapi.ControlNetUnit(image=control, module="canny", model="tiny-cn [0123abcd]", weight=1.5)
    common: dict[str, Any] = {"prompt": "a square", "width": 64, "height": 64, "seed": 21}
    steered = api.txt2img(**common, controlnet_units=[unit], alwayson_scripts={"ADetailer": {"args": [False]}})
    job = open_stack.get(f"/api/v1/jobs/{steered.info['job_id']}")
    assert job["mode"] == "controlnet"
    assert job["request"]["controlnets"][0]["controlnet"] == "tiny-cn"
    assert job["request"]["controlnets"][0]["preprocessor"] == "canny"
    assert job["request"]["controlnets"][0]["conditioning_scale"] == 1.5
    plain = api.txt2img(**common)  # webuiapi sends ControlNet with no units: a plain txt2img
    assert open_stack.get(f"/api/v1/jobs/{plain.info['job_id']}")["mode"] == "txt2img"
    assert steered.image.tobytes() != plain.image.tobytes()


def test_img2img_with_a_unit_without_image_controls_with_the_input_and_refuses_a_mask(open_stack: Stack) -> None:
    """A1111 uses the img2img input for a unit without an image; ControlNet with a mask (inpainting) is refused."""
    api = client(open_stack)
    source = Image.new("RGB", (64, 64), (40, 120, 200))
    unit = webuiapi.ControlNetUnit(model="tiny-cn")
    result = api.img2img(
        images=[source],
        prompt="a sea",
        width=64,
        height=64,
        denoising_strength=0.6,
        controlnet_units=[unit],
        alwayson_scripts={},
    )
    job = open_stack.get(f"/api/v1/jobs/{result.info['job_id']}")
    assert (job["mode"], job["request"]["strength"], result.images[0].size) == ("controlnet", 0.6, (64, 64))
    with pytest.raises(RuntimeError) as refused:
        api.img2img(images=[source], mask_image=source.convert("L"), controlnet_units=[unit], alwayson_scripts={})
    assert problem_of(refused.value)["errors"][0]["loc"] == ["body", "alwayson_scripts", "controlnet"]


def test_a_controlnet_unit_with_an_unknown_preprocessor_is_refused_naming_it(open_stack: Stack) -> None:
    unit = webuiapi.ControlNetUnit(image=Image.new("RGB", (64, 64)), module="depth_midas", model="tiny-cn")
    with pytest.raises(RuntimeError) as refused:
        client(open_stack).txt2img(prompt="x", width=64, height=64, controlnet_units=[unit], alwayson_scripts={})
    loc = problem_of(refused.value)["errors"][0]["loc"]
    assert loc == ["body", "alwayson_scripts", "controlnet", "args", 0, "module"]


def test_lists_answer_what_is_installed(open_stack: Stack) -> None:
    api = client(open_stack)
    assert {"None", "Lanczos", "Nearest", "tiny-esrgan", "tiny-esrgan-2x"} <= {u["name"] for u in api.get_upscalers()}
    assert "Latent" in [mode["name"] for mode in api.get_latent_upscale_modes()]
    assert api.get_sd_vae() == []
    assert [lora["name"] for lora in api.get_loras()] == ["tiny-lora"]
    assert api.get_embeddings() == {"loaded": {}, "skipped": {}}
    assert api.get_prompt_styles() == []
    assert api.refresh_checkpoints() is None
    assert api.get_memory()["ram"]["total"] > 0
    assert api.get_cmd_flags()["api"] is True
    assert "controlnet" in api.get_scripts()["txt2img"]
    assert api.controlnet_model_list() == ["tiny-cn", "tiny-cn-2"]
    assert api.controlnet_module_list() == ["none", "canny"]
    assert api.controlnet_version() == 2


def test_options_round_trip_with_auth_off(open_stack: Stack) -> None:
    """Open WebUI's model switch: GET the options, POST them back whole with sd_model_checkpoint set."""
    api = client(open_stack)
    options = api.get_options()
    options["sd_model_checkpoint"] = next(m["title"] for m in api.get_sd_models() if m["model_name"] == "tiny")
    assert api.set_options(options) is None
    assert api.get_options()["sd_model_checkpoint"] == "tiny"


def test_progress_shows_the_preview_and_skip_stops_the_job(open_stack: Stack) -> None:
    api = client(open_stack)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(api.txt2img, prompt="a slow one", width=256, height=256, steps=150)

        def previewed() -> dict[str, Any] | None:
            answer: dict[str, Any] = api.get_progress()
            return answer if answer["current_image"] else None

        answer = wait_until(previewed, 60, "a preview", interval=0.05)
        preview = Image.open(io.BytesIO(base64.b64decode(answer["current_image"])))
        assert preview.format == "PNG" and preview.width > 0
        assert 0 < answer["progress"] < 1 and answer["eta_relative"] >= 0
        assert answer["state"]["sampling_steps"] == 150
        assert api.skip() == {}
        assert pending.result(timeout=60).images == []
    assert open_stack.get(f"/api/v1/jobs/{answer['state']['job']}")["status"] == "canceled"


def test_a_client_that_hangs_up_cancels_its_job(open_stack: Stack) -> None:
    body = {"prompt": "a client that leaves", "width": 256, "height": 256, "steps": 150}
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(open_stack.url("/sdapi/v1/txt2img"), json=body, timeout=(5, 1.5))

    def ended() -> dict[str, Any] | None:
        items = open_stack.get("/api/v1/jobs?limit=20")["items"]
        mine = [job for job in items if job["request"].get("prompt") == body["prompt"]]
        return mine[0] if mine and mine[0]["status"] in ("finished", "failed", "canceled") else None

    assert wait_until(ended, 60, "the job to end", interval=0.1)["status"] == "canceled"


def test_auth_on_extras_and_controlnet_take_basic_credentials(secured: Stack) -> None:
    api = client(secured, username="ann", password=PASSWORDS["ann"])
    upscaled = api.extra_single_image(image=Image.new("RGB", (16, 16)), upscaler_1="Lanczos", upscaling_resize=2)
    assert upscaled.image.size == (32, 32)
    unit = webuiapi.ControlNetUnit(image=Image.new("RGB", (64, 64), (255, 255, 255)), model="tiny-cn")
    steered = api.txt2img(prompt="a line", width=64, height=64, controlnet_units=[unit], alwayson_scripts={})
    assert steered.image.size == (64, 64)
    with pytest.raises(RuntimeError) as refused:
        client(secured, username="ann", password="wrong").extra_single_image(image=Image.new("RGB", (16, 16)))
    assert refused.value.args[0] == 401
    assert client(secured, username="ben", password=PASSWORDS["ben"]).controlnet_version() == 2
