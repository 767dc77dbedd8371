"""Watermarks: the visible mark lands where asked with the asked opacity; the invisible payload survives a PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from models.watermark import apply_invisible, apply_visible, check_invisible
from schemas.settings import Settings
from schemas.watermark import VisibleWatermark, WatermarkOptions, WatermarkPosition


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the non-black pixels, inclusive."""
    ys, xs = np.nonzero(np.asarray(image).sum(axis=2))
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def mark(position: WatermarkPosition, **overrides: object) -> VisibleWatermark:
    fields = {"text": "sdq", "position": position, "opacity": 1.0, "font_size": 20, "font_color": (255, 255, 255)}
    return VisibleWatermark(**{**fields, "margin": 10, **overrides})


@pytest.mark.parametrize("position", list(WatermarkPosition))
def test_visible_mark_is_drawn_at_its_position_within_the_margin(position: WatermarkPosition) -> None:
    left, top, right, bottom = ink_box(apply_visible(Image.new("RGB", (200, 120)), mark(position)))
    if position is WatermarkPosition.CENTER:
        assert abs((left + right) / 2 - 100) <= 1 and abs((top + bottom) / 2 - 60) <= 1
        return
    vertical, horizontal = position.value.split("-")
    assert (top == 10) if vertical == "top" else (bottom == 120 - 10 - 1)
    assert (left == 10) if horizontal == "left" else (right == 200 - 10 - 1)


def test_opacity_blends_the_text_colour_over_the_image() -> None:
    half = apply_visible(Image.new("RGB", (100, 60)), mark(WatermarkPosition.CENTER, opacity=0.5))
    assert np.asarray(half).max() == 128  # white at 50% over black
    none = apply_visible(Image.new("RGB", (100, 60)), mark(WatermarkPosition.CENTER, opacity=0.0))
    assert np.asarray(none).max() == 0


def test_automatic_font_size_grows_with_the_image() -> None:
    auto = mark(WatermarkPosition.TOP_LEFT, font_size=None)
    small = ink_box(apply_visible(Image.new("RGB", (256, 256)), auto))
    large = ink_box(apply_visible(Image.new("RGB", (1024, 1024)), auto))
    assert (large[3] - large[1]) > 3 * (small[3] - small[1])


def test_request_options_override_the_server_defaults_field_by_field() -> None:
    settings = Settings(watermark_text="house", watermark_opacity=0.3)
    merged = settings.visible_mark(WatermarkOptions(position=WatermarkPosition.TOP_LEFT))
    assert merged is not None and (merged.text, merged.position, merged.opacity) == ("house", "top-left", 0.3)
    assert settings.visible_mark(WatermarkOptions(text="")) is None  # a request may leave the mark out
    assert Settings().visible_mark(None) is None  # no server text, no request text: no mark


def smooth_picture(size: int = 256) -> Image.Image:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB")
    return noise.filter(ImageFilter.GaussianBlur(3))


def test_invisible_payload_reads_back_after_saving_as_png() -> None:
    marked = apply_invisible(smooth_picture(), "sdqueue")
    buffer = io.BytesIO()
    marked.save(buffer, "PNG")
    check = check_invisible(Image.open(buffer).convert("RGB"), "sdqueue")
    assert check.watermarked and check.payload == "sdqueue"
    change = np.abs(np.asarray(marked).astype(int) - np.asarray(smooth_picture()).astype(int))
    assert change.mean() < 2  # invisible: a level or so on average


def test_an_unmarked_image_does_not_read_as_marked() -> None:
    assert not check_invisible(smooth_picture(), "sdqueue").watermarked


def test_images_under_256_squared_cannot_carry_the_invisible_mark() -> None:
    small = smooth_picture(128)
    assert apply_invisible(small, "sdqueue") is small
    check = check_invisible(small, "sdqueue")
    assert not check.watermarked and check.payload is None and "smaller than 256x256" in check.detail
