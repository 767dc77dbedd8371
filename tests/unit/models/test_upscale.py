"""Upscaler helpers: tiling geometry, pass planning, and tiled model runs that match an untiled run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.upscale import load_upscaler, model_passes, tile_boxes, upscale_image
from schemas.errors import RequestInvalid
from tests.builders.addons import write_tiny_upscaler


@pytest.fixture(scope="module")
def esrgan(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = write_tiny_upscaler(tmp_path_factory.mktemp("up") / "tiny.safetensors")
    return load_upscaler(path, "cpu", "float32")


def picture(width: int = 40, height: int = 48) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize(("width", "height", "size"), [(40, 48, 16), (32, 32, 32), (33, 17, 16), (5, 7, 512)])
def test_tile_boxes_cover_every_pixel_exactly_once(width: int, height: int, size: int) -> None:
    covered = np.zeros((height, width), dtype=int)
    for left, top, right, bottom in tile_boxes(width, height, size):
        assert right - left <= size and bottom - top <= size
        covered[top:bottom, left:right] += 1
    assert (covered == 1).all()


@pytest.mark.parametrize(
    ("size", "target", "factor", "expected"),
    [
        ((40, 30), (160, 120), 4, [(40, 30)]),
        ((40, 30), (80, 60), 4, [(40, 30)]),  # one 4x pass, then resized down to 2x
        ((40, 30), (320, 240), 4, [(40, 30), (160, 120)]),  # 8x needs two 4x passes
        ((40, 30), (40, 30), 4, []),  # scale 1: nothing to do
        ((40, 30), (40, 30), 1, [(40, 30)]),  # a 1x (restoration) model still runs once
    ],
)
def test_model_passes_reach_the_target(size, target, factor, expected) -> None:
    assert model_passes(size, target, factor) == expected


def test_the_tiny_esrgan_loads_as_a_4x_esrgan(esrgan) -> None:  # type: ignore[no-untyped-def]
    assert esrgan.architecture.name == "ESRGAN" and esrgan.scale == 4


def test_real_esrgan_params_ema_pth_loads(tmp_path: Path) -> None:
    descriptor = load_upscaler(write_tiny_upscaler(tmp_path / "x2.pth", scale=2), "cpu", "float32")
    assert descriptor.scale == 2


def test_tiles_with_context_padding_match_the_untiled_result_exactly(esrgan) -> None:  # type: ignore[no-untyped-def]
    """Padding gives each tile its surroundings; without it the tile borders differ (seams)."""
    image = picture()
    whole = np.asarray(upscale_image(image, (160, 192), "tiny", esrgan, 4096, 0)).astype(int)
    tiled = np.asarray(upscale_image(image, (160, 192), "tiny", esrgan, 16, 16)).astype(int)
    seamed = np.asarray(upscale_image(image, (160, 192), "tiny", esrgan, 16, 0)).astype(int)
    assert np.array_equal(tiled, whole)
    assert np.abs(seamed - whole).max() > 0


def test_progress_counts_the_tiles_of_every_pass(esrgan) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []
    result = upscale_image(
        picture(), (320, 384), "tiny", esrgan, 32, 8, lambda done, total: calls.append((done, total))
    )
    assert result.size == (320, 384)
    # pass 1: 40x48 in 32px tiles = 2x2; pass 2: 160x192 = 5x6
    assert calls == [(n, 34) for n in range(1, 35)]


def test_resamplers_need_no_model() -> None:
    image = picture()
    assert np.array_equal(
        np.asarray(upscale_image(image, (80, 96), "nearest", None, 512, 16)),
        np.asarray(image.resize((80, 96), Image.Resampling.NEAREST)),
    )


def test_each_pass_is_checked_against_the_pixel_cap_before_it_runs(esrgan) -> None:  # type: ignore[no-untyped-def]
    """8x with the 4x model: the first pass (160x192) fits 40,000 pixels, the second (640x768) does not, so it is
    refused naming the upscaler and the scale, after the first pass's tiles only."""
    calls: list[tuple[int, int]] = []
    with pytest.raises(RequestInvalid) as caught:
        upscale_image(
            picture(), (320, 384), "tiny", esrgan, 32, 8, lambda d, t: calls.append((d, t)), max_pixels=40_000
        )
    assert [error.loc for error in caught.value.errors] == [["body", "upscaler"], ["body", "scale"]]
    assert "640x768" in caught.value.detail
    assert len(calls) == 4  # the 2x2 tiles of pass 1


def test_the_hires_fix_names_its_own_fields(esrgan) -> None:  # type: ignore[no-untyped-def]
    """The hires fix's upscaler is refused naming hr_upscaler and hr_scale."""
    with pytest.raises(RequestInvalid) as caught:
        upscale_image(picture(), (80, 96), "tiny", esrgan, 32, 8, max_pixels=4096, fields=("hr_upscaler", "hr_scale"))
    assert [error.loc for error in caught.value.errors] == [["body", "hr_upscaler"], ["body", "hr_scale"]]
