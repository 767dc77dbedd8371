"""The Models, System and Queue views, the shortcuts and the recent prompts, in Chromium against the shared real
stack (auth off: the caller may do everything, so the admin controls show)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.conftest import Stack, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_models_view_filters_searches_and_loads(open_ui: Any, stack: Stack) -> None:
    page = open_ui()
    page.get_by_role("button", name="Models", exact=True).click()
    rows = page.locator("#models-list tr")
    wait_until(lambda: rows.count() > 0, 10, "the models")
    names = rows.evaluate_all("rs => rs.map(r => r.cells[0].textContent)")
    assert {"tiny", "tiny-inpaint", "tiny-lora", "tiny-cn"} <= {n.split(" ")[0] for n in names}
    page.get_by_label("Type", exact=True).select_option("lora")
    wait_until(lambda: rows.evaluate_all("rs => rs.map(r => r.cells[1].textContent)") == ["lora"], 10, "LoRAs only")
    page.get_by_label("Type", exact=True).select_option("")
    page.get_by_label("Search models").fill("cn")
    wait_until(
        lambda: sorted(rows.evaluate_all("rs => rs.map(r => r.cells[0].textContent)")) == ["tiny-cn", "tiny-cn-2"],
        10,
        "the search",
    )
    page.get_by_label("Search models").fill("tiny")
    row = page.locator("#models-list tr[data-model-id='checkpoint:tiny']")
    row.wait_for()
    assert "sd1" in (row.text_content() or "")
    row.get_by_role("button", name="Load tiny", exact=True).click()
    status = page.locator("#models-status")
    wait_until(lambda: "load tiny: finished" in (status.text_content() or ""), 60, "the load")
    page.get_by_role("button", name="Rescan folders").click()
    wait_until(lambda: "Rescanned" in (status.text_content() or ""), 10, "the rescan")


def test_system_and_queue_views_and_clear(open_ui: Any, stack: Stack) -> None:
    running = stack.submit_id(prompt="queue view running", width=512, height=512, steps=150)
    stack.wait_job(running, until=lambda v: v["status"] == "started")
    waiting = stack.submit_id(prompt="queue view waiting", width=64, height=64, steps=2)
    page = open_ui()
    page.get_by_role("button", name="System", exact=True).click()
    summary = page.locator("#system-summary")
    wait_until(lambda: "Version" in (summary.text_content() or ""), 10, "the summary")
    assert stack.get("/api/version")["version"] in (summary.text_content() or "")
    worker = page.locator("#system-workers tr").first
    wait_until(lambda: running in (worker.text_content() or ""), 10, "the worker's current job")
    assert "cpu" in (worker.text_content() or "")

    page.get_by_role("button", name="Queue", exact=True).click()
    row = page.locator(f"#queue-list tr[data-job-id='{waiting}']")
    row.wait_for()
    assert "txt2img" in (row.text_content() or "") and row.locator("td").first.text_content() == "1"
    page.get_by_role("button", name="Clear the queue").click()
    row.wait_for(state="detached")
    assert stack.get(f"/api/v1/jobs/{waiting}")["status"] == "canceled"
    assert "Canceled 1" in (page.locator("#queue-status").text_content() or "")

    page.get_by_role("button", name="Images", exact=True).click()
    page.locator(f"#job-list li[data-job-id='{running}']").wait_for()
    page.locator("body").press("Escape")
    assert stack.wait_job(running)["status"] == "canceled", "Esc cancels my running job"


def test_shortcuts_list_and_recent_prompts_survive_a_reload(open_ui: Any, stack: Stack) -> None:
    page = open_ui()
    page.locator("body").press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    assert "Ctrl+Enter" in (dialog.text_content() or "")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    prompt = f"remember me {uuid.uuid4().hex[:6]}"
    page.get_by_label("Prompt", exact=True).fill(prompt)
    for label, value in (("Width", "64"), ("Height", "64"), ("Steps", "1")):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Generate").click()
    page.locator("#job-list li.job").filter(has_text=prompt).wait_for()
    page.reload()
    page.wait_for_selector("body[data-ready=all]")
    page.get_by_label("Recent prompts").select_option(prompt)
    assert page.get_by_label("Prompt", exact=True).input_value() == prompt
    assert requests.get(stack.url("/api/health"), timeout=10).status_code == 200


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots_of_each_view(open_ui: Any, stack: Stack, tmp_path: Path, device: str) -> None:
    """Inpaint with a painted mask, PNG info, Models, System and Queue, at 1280 and 360 px: nothing scrolls
    sideways; screenshots go to docs/screenshots/ with SDQ_UPDATE_SCREENSHOTS=1."""
    stack.run(prompt="a lighthouse at dusk, oil painting", width=64, height=64, steps=2, seed=7)
    if device == "phone":  # a prompt with no place to break must not widen the page either
        stack.run(prompt="unbroken" * 40, width=64, height=64, steps=1, seed=8)
    page = open_ui(viewport=PHONE if device == "phone" else DESKTOP)
    page.get_by_label("Mode", exact=True).select_option("inpaint")
    source = tmp_path / "harbour.png"
    Image.radial_gradient("L").convert("RGB").resize((192, 128)).save(source)
    page.get_by_label("Input image").set_input_files(str(source))
    page.get_by_text("192 \u00d7 128 px").wait_for()
    canvas = page.get_by_label("Mask: paint what to repaint")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6, steps=8)
    page.mouse.up()
    page.get_by_label("Prompt", exact=True).fill("a red boat in the harbour")
    screenshot(page, f"inpaint-{device}", tmp_path)
    if device == "phone":  # on a desktop the gallery and PNG info are beside the form, in the shot above
        page.locator("#pnginfo").scroll_into_view_if_needed()
        screenshot(page, "gallery-pnginfo-phone", tmp_path)
    for view, loaded in (("Models", "#models-list tr"), ("System", "#system-summary dt"), ("Queue", "#queue-counts")):
        page.get_by_role("button", name=view, exact=True).click()
        wait_until(lambda: page.locator(loaded).first.text_content(), 10, view)  # noqa: B023 (called at once)
        screenshot(page, f"{view.lower()}-{device}", tmp_path)
