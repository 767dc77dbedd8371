"""Image-to-image and inpaint from the web UI, in Chromium against the shared real stack: an image in by file
picker, drop and paste (uploaded through /api/v1/uploads, previewed with its size), a mask painted with the mouse
(with undo/redo and its blur previewed), a grey change map painted for differential img2img, and the mask and the
change map the API received compared pixel for pixel with what was painted."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from schemas.jobs import upload_image_path
from tests.conftest import Stack, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def png_bytes(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def finished_job(page: Any, stack: Stack, prompt: str) -> dict[str, Any]:
    item = page.locator("#job-list li.job").filter(has_text=prompt)
    item.and_(page.locator("[data-status=finished]")).wait_for(timeout=60_000)
    job: dict[str, Any] = stack.get(f"/api/v1/jobs/{item.get_attribute('data-job-id')}")
    return job


def painted_levels(page: Any) -> list[int]:
    """What the painter shows: each pixel's level (the canvas's alpha: 0 = not painted), row by row."""
    levels: list[int] = page.evaluate(
        """() => {
          const c = document.getElementById('painter-canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const out = [];
          for (let i = 3; i < d.length; i += 4) out.push(d[i]);
          return out;
        }"""
    )
    return levels


def painted_bits(page: Any) -> list[int]:
    """What the painter shows: 1 where the canvas is painted (not transparent), row by row."""
    return [1 if level else 0 for level in painted_levels(page)]


def stroke(page: Any, canvas: Any, start: tuple[int, int], end: tuple[int, int]) -> None:
    """A mouse stroke between two points in image pixels (of a 128 px wide image), whatever the zoom."""
    box = canvas.bounding_box()
    scale = box["width"] / 128
    page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * scale, box["y"] + end[1] * scale, steps=12)
    page.mouse.up()


def test_inpaint_a_mask_painted_with_the_mouse_is_the_mask_the_api_received(
    open_ui: Any, stack: Stack, tmp_path: Path
) -> None:
    """Inpaint: a 128x96 image from the file picker, a stroke painted with the mouse, undone and redone with the
    keyboard; the job's mask upload is 128x96 and equals the painted pixels exactly; the job finishes."""
    source = tmp_path / "photo.png"
    source.write_bytes(png_bytes(128, 96, (30, 120, 200)))
    page = open_ui()
    page.get_by_label("Mode", exact=True).select_option("inpaint")
    assert page.get_by_role("heading", name="Inpaint").is_visible()
    assert page.get_by_label("Model", exact=True).input_value() == "tiny-inpaint", "an inpainting model first"
    page.get_by_label("Input image").set_input_files(str(source))
    page.get_by_text("128 \u00d7 96 px").wait_for()
    assert (page.get_by_label("Width").input_value(), page.get_by_label("Height").input_value()) == ("128", "96")
    canvas = page.get_by_label("Mask: paint what to repaint")
    assert canvas.evaluate("c => [c.width, c.height]") == [128, 96]
    page.get_by_label("Brush size").fill("12")
    stroke(page, canvas, (20, 30), (100, 60))
    painted = painted_bits(page)
    assert 500 < sum(painted) < 128 * 96 / 2, sum(painted)
    assert painted[30 * 128 + 20] == 1 and painted[0] == 0 and painted[95 * 128 + 127] == 0

    page.get_by_role("button", name="Brush").focus()
    page.keyboard.press("Control+z")
    assert sum(painted_bits(page)) == 0, "Ctrl+Z undoes the stroke"
    page.keyboard.press("Control+Shift+z")
    assert painted_bits(page) == painted, "Ctrl+Shift+Z redoes it"

    painter = page.locator("#painter")
    assert painter.get_attribute("data-feather") == "4", "the default mask blur is previewed"
    page.get_by_label("Mask blur").fill("9")
    assert painter.get_attribute("data-feather") == "9"
    feather = page.locator("#painter-feather")
    assert feather.is_visible() and feather.evaluate("c => c.style.filter").startswith("blur(")
    assert feather.evaluate("c => c.getContext('2d').getImageData(0, 0, 128, 96).data.some((v, i) => i % 4 === 3 && v)")
    assert painted_bits(page) == painted, "the preview leaves the mask as painted"

    page.get_by_label("Prompt", exact=True).fill("inpaint a red boat")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Generate").click()
    job = finished_job(page, stack, "inpaint a red boat")
    request = job["request"]
    assert request["model"] == "tiny-inpaint" and request["image"].startswith("upl_") and request["mask_blur"] == 9
    with Image.open(upload_image_path(stack.data_dir, request["mask"])) as mask:
        assert mask.size == (128, 96)
        grey = mask.convert("L").tobytes()
        assert set(grey) <= {0, 255}, "hard edges: exactly what was painted"
        received = [1 if v >= 128 else 0 for v in grey]
    assert received == painted
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (128, 96)


def test_img2img_takes_a_dropped_image_and_a_pasted_one(open_ui: Any, stack: Stack) -> None:
    """Image to image: an image dropped on the drop zone is uploaded and previewed; one pasted replaces it; the job
    starts from the pasted upload with the strength typed in, at the image's size."""
    page = open_ui()
    page.get_by_label("Mode", exact=True).select_option("img2img")
    assert page.get_by_label("Mask: paint what to repaint").is_hidden()
    assert page.get_by_label("Model", exact=True).input_value() == "tiny"

    def transfer(width: int, height: int) -> Any:
        data = base64.b64encode(png_bytes(width, height, (200, 80, 40))).decode()
        return page.evaluate_handle(
            """b64 => {
              const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
              const dt = new DataTransfer();
              dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
              return dt;
            }""",
            data,
        )

    page.dispatch_event("#image-in", "drop", {"dataTransfer": transfer(72, 64)})
    page.get_by_text("72 \u00d7 64 px").wait_for()
    pasted = transfer(64, 80)
    page.get_by_label("Prompt", exact=True).focus()
    page.evaluate(
        "dt => document.getElementById('f-prompt').dispatchEvent("
        "new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))",
        pasted,
    )
    page.get_by_text("64 \u00d7 80 px").wait_for()
    wait_until(lambda: page.get_by_label("Height").input_value() == "80", 5, "the size from the image")

    page.get_by_label("Prompt", exact=True).fill("img2img a castle")
    page.get_by_label("Steps").fill("4")
    page.get_by_label("Denoising strength").fill("0.5")
    page.get_by_role("button", name="Generate").click()
    job = finished_job(page, stack, "img2img a castle")
    request = job["request"]
    assert request["strength"] == 0.5 and "mask" not in request and request.get("change_map") is None, "none painted"
    with Image.open(upload_image_path(stack.data_dir, request["init_image"])) as init:
        assert init.size == (64, 80)
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (64, 80)


def test_img2img_a_grey_change_map_painted_with_the_mouse_is_the_map_the_api_received(
    open_ui: Any, stack: Stack, tmp_path: Path
) -> None:
    """Differential img2img: two strokes at grey levels 128 and 255 on a 128x96 image; the job's change map is
    128x96 and its grey levels equal the painted ones pixel for pixel (black where nothing was painted); the
    scheduler and priority picked are in the request; the job finishes."""
    source = tmp_path / "street.png"
    source.write_bytes(png_bytes(128, 96, (40, 160, 90)))
    page = open_ui()
    page.get_by_label("Mode", exact=True).select_option("img2img")
    page.get_by_label("Input image").set_input_files(str(source))
    page.get_by_text("128 \u00d7 96 px").wait_for()
    canvas = page.get_by_label("Change map: paint how much to change")
    assert canvas.evaluate("c => [c.width, c.height]") == [128, 96]
    assert page.locator("#painter-feather").is_hidden(), "no blur preview on a change map"
    page.get_by_label("Brush size").fill("10")
    page.locator("#painter-level").fill("128")
    assert page.locator("#painter-level-text").text_content() == "50 %"
    stroke(page, canvas, (10, 20), (110, 20))
    page.locator("#painter-level").fill("255")
    stroke(page, canvas, (60, 5), (60, 90))
    levels = painted_levels(page)
    assert set(levels) == {0, 128, 255}, set(levels)
    assert levels[20 * 128 + 20] == 128 and levels[50 * 128 + 60] == 255 and levels[90 * 128 + 5] == 0

    page.get_by_label("Sampler").select_option("euler")
    page.get_by_label("Schedule type").select_option("karras")
    page.get_by_label("Priority").select_option("low")
    page.get_by_label("Prompt", exact=True).fill("img2img a changed street")
    page.get_by_label("Steps").fill("3")
    page.get_by_role("button", name="Generate").click()
    job = finished_job(page, stack, "img2img a changed street")
    request = job["request"]
    assert (request["scheduler"], request["priority"]) == ("karras", "low")
    with Image.open(upload_image_path(stack.data_dir, request["change_map"])) as change_map:
        assert change_map.size == (128, 96)
        received = list(change_map.convert("L").tobytes())
    assert received == levels, "the map sent is exactly the grey levels painted"
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (128, 96)
