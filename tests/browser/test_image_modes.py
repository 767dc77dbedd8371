"""Image-to-image and inpaint from the web UI, in Chromium against the shared real stack: an image in by file
picker, drop and paste (uploaded through /api/v1/uploads, previewed with its size), a mask painted with the mouse
(with undo/redo), and the mask the API received compared pixel for pixel with what was painted."""

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


def painted_bits(page: Any) -> list[int]:
    """What the painter shows: 1 where the canvas is painted (not transparent), row by row."""
    bits: list[int] = page.evaluate(
        """() => {
          const c = document.getElementById('painter-canvas');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const out = [];
          for (let i = 3; i < d.length; i += 4) out.push(d[i] > 0 ? 1 : 0);
          return out;
        }"""
    )
    return bits


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

    box = canvas.bounding_box()
    scale = box["width"] / 128
    page.mouse.move(box["x"] + 20 * scale, box["y"] + 30 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 100 * scale, box["y"] + 60 * scale, steps=12)
    page.mouse.up()
    painted = painted_bits(page)
    assert 500 < sum(painted) < 128 * 96 / 2, sum(painted)
    assert painted[30 * 128 + 20] == 1 and painted[0] == 0 and painted[95 * 128 + 127] == 0

    page.get_by_role("button", name="Brush").focus()
    page.keyboard.press("Control+z")
    assert sum(painted_bits(page)) == 0, "Ctrl+Z undoes the stroke"
    page.keyboard.press("Control+Shift+z")
    assert painted_bits(page) == painted, "Ctrl+Shift+Z redoes it"

    page.get_by_label("Prompt", exact=True).fill("inpaint a red boat")
    page.get_by_label("Steps").fill("2")
    page.get_by_role("button", name="Generate").click()
    job = finished_job(page, stack, "inpaint a red boat")
    request = job["request"]
    assert request["model"] == "tiny-inpaint" and request["image"].startswith("upl_")
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
    assert request["strength"] == 0.5 and "mask" not in request
    with Image.open(upload_image_path(stack.data_dir, request["init_image"])) as init:
        assert init.size == (64, 80)
    assert (job["images"][0]["width"], job["images"][0]["height"]) == (64, 80)
