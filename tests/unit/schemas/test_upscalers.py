"""Upscaler pass planning: every pass within the pixel cap, and where the API learns a model's factor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis import Redis

from schemas.errors import RequestInvalid
from schemas.models import Arch, ModelEntry, ModelType
from schemas.upscalers import check_passes, factor_from_name
from store.upscaler_factors import known_factor, record_factor


def test_a_pass_larger_than_the_output_is_refused_naming_upscaler_and_scale() -> None:
    """20x20 to 60x60 with a 4x model makes 80x80 first: over a 4096-pixel cap though the output is not."""
    with pytest.raises(RequestInvalid) as caught:
        check_passes((20, 20), (60, 60), 4, 4096, "esrgan", ("upscaler", "scale"))
    assert [error.loc for error in caught.value.errors] == [["body", "upscaler"], ["body", "scale"]]
    assert "80x80" in caught.value.detail and "SDQ_MAX_UPSCALE_PIXELS" in caught.value.detail


def test_every_pass_of_a_multi_pass_plan_is_checked() -> None:
    """8x with a 2x model runs three passes; the last (40x40 -> 80x80) is the one over the cap."""
    check_passes((10, 10), (40, 40), 2, 1600, "x2", ("upscaler", "scale"))
    with pytest.raises(RequestInvalid):
        check_passes((10, 10), (80, 80), 2, 6399, "x2", ("upscaler", "scale"))


@pytest.mark.parametrize(
    ("name", "factor"),
    [
        ("4x-UltraSharp", 4),
        ("RealESRGAN_x4plus", 4),
        ("RealESRGAN_x4plus_anime_6B", 4),
        ("4x_foolhardy_Remacri", 4),
        ("ESRGAN_2x", 2),
        ("SwinIR_8x", 8),
        ("tiny-esrgan", None),
        ("x264-codec", None),
        ("max_upscaler", None),
    ],
)
def test_factor_from_name(name: str, factor: int | None) -> None:
    assert factor_from_name(name) == factor


def entry(name: str, size: int = 1000, mtime: float = 1_700_000_000.0) -> ModelEntry:
    return ModelEntry(
        id=f"upscaler:{name}",
        name=name,
        type=ModelType.UPSCALER,
        format="pth",
        arch=Arch.UPSCALER,
        path=f"upscalers/{name}.pth",
        size_bytes=size,
        modified_at=datetime.fromtimestamp(mtime, UTC),
        status="valid",
    )


def test_the_workers_record_of_this_file_beats_the_name(redis_server) -> None:  # type: ignore[no-untyped-def]
    """A recorded factor counts for the very file it was measured on; a changed file falls back to the name."""
    redis = Redis.from_url(redis_server.url)
    name = "unit-record-2x"
    assert known_factor(redis, entry(name)) == (2, " (from its name)")
    record_factor(redis, entry(name), 4)
    assert known_factor(redis, entry(name)) == (4, "")
    assert known_factor(redis, entry(name, size=1001)) == (2, " (from its name)")
    redis.delete(f"sdq:upscaler:{name}")
