"""ControlNet, upscale and the Advanced options from the web UI, in Chromium against the shared real stack: the
pickers offer only what fits (architecture presets, inpainting models kept out), the LoRA picker writes its tag,
the aspect lock holds, and each request the API received carries what the form showed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Stack

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def write_png(path: Path, width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def finished(page: Any, stack: Stack, text: str) -> dict[str, Any]:
    item = page.locator("#job-list li.job").filter(has_text=text)
    item.and_(page.locator("[data-status=finished], [data-status=failed]")).wait_for(timeout=60_000)
    job: dict[str, Any] = stack.get(f"/api/v1/jobs/{item.get_attribute('data-job-id')}")
    assert job["status"] == "finished", job.get("error")
    return job


def test_txt2img_with_lora_hires_fix_aspect_lock_and_seed_reuse(open_ui: Any, stack: Stack) -> None:
    """SD1 presets for the tiny model, no inpainting model offered; the aspect lock keeps 2:3; the LoRA picker adds
    <lora:tiny-lora:0.5>; hires fix 1.5x; the job's request has them; "Reuse last seed" then fixes its seed."""
    page = open_ui()
    models = page.get_by_label("Model", exact=True).evaluate("s => [...s.options].map(o => o.value)")
    assert "tiny" in models and "tiny-inpaint" not in models
    presets = page.get_by_label("Size preset").evaluate("s => [...s.options].map(o => o.value)")
    assert presets[:3] == ["", "512x512", "512x768"] and "1024x1024" not in presets
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("96")
    page.get_by_label("Lock aspect ratio").check()
    page.get_by_label("Width").fill("128")
    assert page.get_by_label("Height").input_value() == "192"
    page.get_by_label("Width").fill("64")
    assert page.get_by_label("Height").input_value() == "96"

    page.get_by_label("Prompt", exact=True).fill("a lora lighthouse")
    page.get_by_text("Advanced").click()
    page.get_by_label("LoRA", exact=True).select_option("tiny-lora")
    page.get_by_label("LoRA weight", exact=True).fill("0.5")
    page.get_by_role("button", name="Add LoRA to prompt").click()
    assert page.get_by_label("Prompt", exact=True).input_value() == "a lora lighthouse, <lora:tiny-lora:0.5>"
    page.get_by_label("Hires factor").fill("1.5")
    page.get_by_label("Hires step count").fill("2")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Generate").click()
    job = finished(page, stack, "a lora lighthouse")
    request = job["request"]
    assert request["loras"] == [{"name": "tiny-lora", "weight": 0.5}] or "<lora:tiny-lora:0.5>" in request["prompt"]
    assert (request["hr_scale"], request["hr_steps"]) == (1.5, 2)
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (96, 144), "the hires pass made it 1.5x"

    page.get_by_role("button", name="Reuse last seed").click()
    assert page.get_by_label("Seed", exact=True).input_value() == str(job["images"][0]["seed"])
    assert not page.get_by_label("Random seed").is_checked()


def test_controlnet_with_two_units_and_an_upscale(open_ui: Any, stack: Stack, tmp_path: Path) -> None:
    """ControlNet: two units (tiny-cn, tiny-cn-2) each with its control image; the job's request names both with
    their weights. Upscale: a 32x24 image with tiny-esrgan at 2x gives 64x48."""
    page = open_ui()
    page.get_by_label("Mode", exact=True).select_option("controlnet")
    page.get_by_label("ControlNet 1", exact=True).select_option("tiny-cn")
    page.get_by_label("Control image 1", exact=True).set_input_files(write_png(tmp_path / "edges.png", 64, 64))
    page.get_by_text("64 \u00d7 64 px").wait_for()
    page.get_by_role("button", name="Add ControlNet unit").click()
    page.get_by_label("ControlNet 2", exact=True).select_option("tiny-cn-2")
    page.get_by_label("Weight 2", exact=True).fill("0.5")
    page.get_by_label("Control image 2", exact=True).set_input_files(write_png(tmp_path / "depth.png", 64, 64))
    page.get_by_text("64 \u00d7 64 px").nth(1).wait_for()
    page.get_by_label("Prompt", exact=True).fill("a controlled tower")
    page.get_by_label("Width").fill("64")
    page.get_by_label("Height").fill("64")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Generate").click()
    job = finished(page, stack, "a controlled tower")
    units = job["request"]["controlnets"]
    assert [(u["controlnet"], u["conditioning_scale"]) for u in units] == [("tiny-cn", 1.0), ("tiny-cn-2", 0.5)]
    assert "init_image" not in job["request"] or job["request"]["init_image"] is None

    page.get_by_label("Mode", exact=True).select_option("upscale")
    assert page.get_by_label("Prompt", exact=True).is_hidden()
    page.get_by_label("Input image").set_input_files(write_png(tmp_path / "small.png", 32, 24))
    page.get_by_text("32 \u00d7 24 px").wait_for()
    page.get_by_label("Upscaler", exact=True).select_option("tiny-esrgan")
    page.get_by_label("Scale", exact=True).fill("2")
    page.get_by_role("button", name="Generate").click()
    item = page.locator("#job-list li.job[data-status=finished]").first
    item.wait_for(timeout=60_000)
    upscaled = page.locator("#job-list li.job").first
    upscaled.and_(page.locator("[data-status=finished]")).wait_for(timeout=60_000)
    job = stack.get(f"/api/v1/jobs/{upscaled.get_attribute('data-job-id')}")
    assert job["mode"] == "upscale" and job["request"]["upscaler"] == "tiny-esrgan"
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (64, 48)
