"""The gallery and lightbox beyond viewing, in Chromium against the shared real stack: previous/next, "send to
img2img", the filters, delete (asked twice, gone from the API), and PNG info loading a PNG's parameters."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Stack, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_lightbox_steps_sends_to_img2img_filters_and_deletes(open_ui: Any, stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6]
    older = stack.run(prompt=f"older {tag}", width=64, height=64, steps=1, seed=1)
    newer = stack.run(prompt=f"newer {tag}", width=64, height=64, steps=1, seed=2)
    page = open_ui()
    page.locator(f"#gallery-grid li[data-job-id='{newer['id']}'] button").click()
    title = page.locator("#lightbox-title")
    image = page.locator("#lightbox-image")
    assert image.get_attribute("src") == newer["images"][0]["url"]
    page.get_by_role("button", name="Next").click()
    assert image.get_attribute("src") == older["images"][0]["url"], "next = the older tile"
    page.get_by_role("button", name="Previous").click()
    assert image.get_attribute("src") == newer["images"][0]["url"]
    page.keyboard.press("ArrowRight")
    assert image.get_attribute("src") == older["images"][0]["url"], "arrow keys step too"
    assert title.is_visible()

    page.get_by_role("button", name="Send to img2img").click()
    assert page.get_by_role("dialog").is_hidden()
    assert page.get_by_label("Mode", exact=True).input_value() == "img2img"
    page.get_by_text("64 \u00d7 64 px").wait_for()
    page.get_by_label("Prompt", exact=True).fill(f"sent {tag}")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Generate").click()
    item = page.locator("#job-list li.job").filter(has_text=f"sent {tag}")
    item.and_(page.locator("[data-status=finished]")).wait_for(timeout=60_000)
    sent = stack.get(f"/api/v1/jobs/{item.get_attribute('data-job-id')}")
    assert sent["mode"] == "img2img" and sent["request"]["init_image"].startswith("upl_")

    page.get_by_label("Show mode").select_option("img2img")
    grid = page.locator("#gallery-grid li")
    wait_until(
        lambda: grid.count() > 0 and page.locator(f"#gallery-grid li[data-job-id='{older['id']}']").count() == 0,
        10,
        "filter",
    )
    ids = grid.evaluate_all("items => items.map(i => i.dataset.jobId)")
    assert sent["id"] in ids and all(stack.get(f"/api/v1/jobs/{i}")["mode"] == "img2img" for i in set(ids))
    page.get_by_label("Show mode").select_option("")
    tile = page.locator(f"#gallery-grid li[data-job-id='{older['id']}'] button")
    tile.click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Really delete").click()
    tile.wait_for(state="detached")
    assert requests.get(stack.url(f"/api/v1/jobs/{older['id']}"), timeout=10).status_code == 404


def test_png_info_loads_a_pngs_parameters_into_the_form(open_ui: Any, stack: Stack, tmp_path: Path) -> None:
    job = stack.run(prompt="png info lighthouse", negative_prompt="fog", width=64, height=96, steps=3, seed=4242)
    png = tmp_path / "made.png"
    png.write_bytes(requests.get(stack.url(job["images"][0]["url"]), timeout=10).content)
    page = open_ui()
    page.get_by_label("PNG file").set_input_files(str(png))
    text = page.locator("#pnginfo-text")
    text.wait_for()
    assert (text.text_content() or "").startswith("png info lighthouse\nNegative prompt: fog\nSteps: 3")
    page.get_by_role("button", name="Load into the form").click()
    assert page.get_by_label("Prompt", exact=True).input_value() == "png info lighthouse"
    assert page.get_by_label("Negative prompt").input_value() == "fog"
    assert page.get_by_label("Seed", exact=True).input_value() == "4242"
    assert (page.get_by_label("Width").input_value(), page.get_by_label("Height").input_value()) == ("64", "96")
    assert page.get_by_label("Steps").input_value() == "3"
    page.get_by_label("PNG file").set_input_files(
        files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"GIF89a not a png"}]
    )
    page.get_by_text("not a PNG file").wait_for()
