"""Watermarks through the real worker: the visible mark where the request (or the server default) puts it, the
invisible one read back from the downloaded PNG by the API (worker-side decoder) and by ``sdqueue watermark-check``."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import ROOT, Stack

pytestmark = pytest.mark.integration


def download(stack: Stack, view: dict) -> bytes:
    return requests.get(stack.url(view["images"][0]["url"]), timeout=10).content


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def check(stack: Stack, data: bytes) -> requests.Response:
    return requests.post(stack.url("/api/v1/watermark/check"), files={"file": ("x.png", data)}, timeout=30)


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.abs(a - b).sum(axis=2))
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_generated_images_carry_the_invisible_mark_read_back_by_the_api_and_cli(stack: Stack, tmp_path) -> None:
    view = stack.run(width=256, height=256, seed=5)
    assert view["status"] == "finished", view["error"]
    assert view["images"][0]["invisible_watermark"] and not view["images"][0]["visible_watermark"]
    data = download(stack, view)
    answer = check(stack, data)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["watermarked"] and answer.json()["result"]["payload"] == "sdqueue"
    path = tmp_path / "out.png"
    path.write_bytes(data)
    cli = subprocess.run([sys.executable, "-m", "cli", "watermark-check", str(path)], cwd=ROOT, capture_output=True)
    assert cli.returncode == 0 and b'"watermarked":true' in cli.stdout


def test_an_image_from_elsewhere_is_not_reported_as_marked(stack: Stack) -> None:
    rng = np.random.default_rng(2)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8), "RGB").save(buffer, "PNG")
    result = check(stack, buffer.getvalue()).json()["result"]
    assert not result["watermarked"] and result["expected"] == "sdqueue"


def test_small_images_are_generated_without_the_invisible_mark(stack: Stack) -> None:
    view = stack.run(seed=5)  # 64x64
    assert not view["images"][0]["invisible_watermark"]


def test_visible_mark_goes_where_asked_and_the_server_default_applies(make_stack) -> None:
    """Invisible mark off here, so that the only pixels that differ between two runs are the visible mark's."""
    marked = make_stack(SDQ_INVISIBLE_WATERMARK="false", SDQ_WATERMARK_TEXT="house mark", SDQ_WATERMARK_MARGIN="8")
    plain = marked.run(width=128, height=128, seed=9, watermark={"text": ""})
    default = marked.run(width=128, height=128, seed=9)
    asked = marked.run(width=128, height=128, seed=9, watermark={"text": "XY", "position": "top-left", "margin": 4})
    assert not plain["images"][0]["visible_watermark"] and default["images"][0]["visible_watermark"]
    base = pixels(download(marked, plain))
    left, top, right, bottom = changed_box(base, pixels(download(marked, default)))
    assert right <= 127 - 8 and bottom <= 127 - 8 and left > 64 and top > 64  # bottom-right, inside the margin
    left, top, right, bottom = changed_box(base, pixels(download(marked, asked)))
    assert left >= 4 and top >= 4 and right < 64 and bottom < 64  # top-left


def test_bad_watermark_options_are_refused_naming_the_field(stack: Stack) -> None:
    response = stack.submit(watermark={"position": "middle"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][:3] == ["body", "watermark", "position"]
    response = stack.submit(watermark={"font_color": [255, 0]})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"][:3] == [
        "body",
        "watermark",
        "font_color",
    ]
