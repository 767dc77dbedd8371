"""The AUTOMATIC1111 API facade, driven by the real ``webuiapi`` client against a real stack (64x64, 2 steps):
txt2img, img2img, inpainting, png-info, options, progress, interrupt, auth."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import Stack, wait_until
from tests.integration.compat.a1111_stacks import PASSWORDS, cli, client

pytestmark = pytest.mark.integration


def test_txt2img_maps_combined_sampler_names_seeds_and_override_settings(open_stack: Stack) -> None:
    """'DPM++ 2M Karras' is sampler + schedule; n_iter batches continue the seed; info is a JSON string."""
    result = client(open_stack).txt2img(
        prompt="a lighthouse",
        width=64,
        height=64,
        seed=5,
        n_iter=2,
        sampler_name="DPM++ 2M Karras",
        styles=["ignored"],
        override_settings={"sd_model_checkpoint": "tiny.safetensors [0123456789]"},
    )
    assert [image.size for image in result.images] == [(64, 64), (64, 64)]
    assert result.info["all_seeds"] == [5, 6]
    assert result.info["sd_model_name"] == "tiny"
    text = result.info["infotexts"][0]
    assert "Sampler: DPM++ 2M" in text and "Schedule type: Karras" in text
    assert result.parameters["prompt"] == "a lighthouse"


def test_send_images_false_answers_no_images_but_the_info(open_stack: Stack) -> None:
    result = client(open_stack).txt2img(prompt="a boat", width=64, height=64, send_images=False)
    assert result.images == [] and len(result.info["all_seeds"]) == 1


def test_img2img_keeps_the_asked_size(open_stack: Stack) -> None:
    source = Image.new("RGB", (64, 64), (30, 90, 160))
    result = client(open_stack).img2img(images=[source], prompt="a sea", width=64, height=64, denoising_strength=0.5)
    assert result.images[0].size == (64, 64)
    assert "Denoising strength: 0.5" in result.info["infotexts"][0]


def test_img2img_with_a_mask_inpaints_only_the_white_area(open_stack: Stack) -> None:
    """A1111 masks are white = repaint, like sdqueue's; webuiapi's default 'Only masked' works too."""
    source = Image.new("RGB", (64, 64), (200, 40, 40))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (40, 40, 64, 64))
    result = client(open_stack).img2img(
        images=[source], mask_image=mask, prompt="a window", width=64, height=64, denoising_strength=1.0
    )
    image = result.images[0].convert("RGB")
    assert image.size == (64, 64)
    assert image.getpixel((2, 2)) == (200, 40, 40)
    assert "Inpaint area: Only masked" in result.info["infotexts"][0]


def test_png_info_reads_back_the_parameters(open_stack: Stack) -> None:
    api = client(open_stack)
    image = api.txt2img(prompt="a red door", negative_prompt="blur", width=64, height=64, seed=9).image
    answer = api.png_info(image).json
    assert answer["parameters"]["Prompt"] == "a red door"
    assert answer["parameters"]["Negative prompt"] == "blur"
    assert answer["parameters"]["Seed"] == "9" and answer["parameters"]["Size-1"] == "64"


def test_lists_options_progress_and_interrupt(open_stack: Stack) -> None:
    api = client(open_stack)
    assert api.get_options()["sd_model_checkpoint"] == "tiny"
    assert "DPM++ 2M" in [s["name"] for s in api.get_samplers()]
    assert "tiny" in [m["model_name"] for m in api.get_sd_models()]
    assert "karras" in api.util_get_scheduler_names()
    progress = api.get_progress()
    assert progress["state"]["job_count"] == 0 and progress["progress"] == 0


def test_interrupt_stops_the_running_job_and_its_call_answers_without_images(open_stack: Stack) -> None:
    """While a long txt2img runs, progress shows it; interrupt cancels it and the waiting call gets no images."""
    api = client(open_stack)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(api.txt2img, prompt="a long one", width=512, height=512, steps=150)

        def running() -> dict[str, Any] | None:
            state: dict[str, Any] = api.get_progress()["state"]
            return state if state["sampling_step"] > 0 else None

        state = wait_until(running, 60, "the job to start", interval=0.05)
        assert state["sampling_steps"] == 150 and state["job_count"] == 1
        assert api.interrupt() == {}
        result = pending.result(timeout=60)
    assert result.images == []
    assert open_stack.get(f"/api/v1/jobs/{state['job']}")["status"] == "canceled"


def test_auth_off_ignores_an_empty_basic_header(open_stack: Stack) -> None:
    response = requests.get(open_stack.url("/sdapi/v1/options"), headers={"Authorization": "Basic "}, timeout=10)
    assert response.status_code == 200


def test_auth_on_takes_basic_passwords_and_keys_and_jobs_stay_their_owners(secured: Stack) -> None:
    with pytest.raises(RuntimeError) as refused:
        client(secured, username="ann", password="wrong").txt2img(prompt="x", width=64, height=64)
    assert refused.value.args[0] == 401
    result = client(secured, username="ann", password=PASSWORDS["ann"]).txt2img(prompt="a cat", width=64, height=64)
    key = cli(secured, "keys", "create", "--owner", "ann", "--name", "a1111")
    by_key = client(secured, username="anyone", password=key).get_options()
    assert by_key["sd_model_checkpoint"] == "tiny"

    def listed(name: str) -> list[dict[str, Any]]:
        response = requests.get(
            secured.url("/api/v1/jobs"), auth=(name, PASSWORDS[name]), timeout=10
        )  # Basic is for the drop-in routes only: the native API answers 401
        assert response.status_code == 401
        token = requests.post(
            secured.url("/api/v1/auth/login"), json={"username": name, "password": PASSWORDS[name]}, timeout=10
        ).json()["access_token"]
        items: list[dict[str, Any]] = requests.get(
            secured.url("/api/v1/jobs"), headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()["items"]
        return items

    assert [job["id"] for job in listed("ann")] == [result.info["job_id"]]
    assert listed("ben") == []


def test_post_options_chooses_a_checkpoint_for_the_caller_only(secured: Stack) -> None:
    """Open WebUI switches models with POST /options: the choice holds for that principal's later calls."""
    bob = client(secured, username="ben", password=PASSWORDS["ben"])
    alice = client(secured, username="ann", password=PASSWORDS["ann"])
    assert bob.set_options({"sd_model_checkpoint": "tiny-inpaint [0123456789]", "samples_format": "jpg"}) is None
    assert bob.get_options()["sd_model_checkpoint"] == "tiny-inpaint"
    assert alice.get_options()["sd_model_checkpoint"] == "tiny"
    with pytest.raises(RuntimeError) as refused:  # the chosen model is used: an inpainting model refuses txt2img
        bob.txt2img(prompt="x", width=64, height=64)
    assert refused.value.args[0] == 422 and "inpainting model" in refused.value.args[1]
    unknown = requests.post(
        secured.url("/sdapi/v1/options"),
        json={"sd_model_checkpoint": "nope"},
        auth=("ben", PASSWORDS["ben"]),
        timeout=10,
    )
    assert unknown.status_code == 422
    assert bob.get_options()["sd_model_checkpoint"] == "tiny-inpaint"
