"""Model upscalers as both sides plan them: the passes a model of factor f takes, the pixel cap on every pass, and
where the API learns a model's factor without loading it.

A model of factor f runs as often as needed to reach the requested size and the result is then resized down (as
AUTOMATIC1111 does), so a pass can make an image much larger than the output: 20x20 to 60x60 with a 4x model makes
80x80 first. Every pass's output must stay within ``SDQ_MAX_UPSCALE_PIXELS``: the API checks the plan at submit
where it knows the factor, and the worker checks each pass before running it.

The factor: the worker records it in Redis when it loads the model (``store.upscaler_factors``, keyed by the
file's size and mtime so a replaced file is not trusted); before that, a factor in the file name
(``4x-UltraSharp``, ``RealESRGAN_x4plus``, ``ESRGAN_2x``); else it is unknown at submit and only the worker's check
applies.
"""

from __future__ import annotations

import math
import re

from schemas.errors import FieldError, RequestInvalid

MAX_PASSES = 4
_NAME_FACTOR = re.compile(r"(?<![a-z0-9])(\d{1,2})x(?![a-z])|(?<![a-z0-9])x(\d{1,2})(?!\d)", re.IGNORECASE)


def model_passes(size: tuple[int, int], target: tuple[int, int], factor: int) -> list[tuple[int, int]]:
    """The input size of each model pass needed to reach ``target`` (none when the input is already as large)."""
    if factor <= 1:
        return [size]  # a 1x model (restoration) runs once
    need = max(target[0] / size[0], target[1] / size[1])
    count = min(MAX_PASSES, math.ceil(math.log(need, factor) - 1e-9)) if need > 1 else 0
    return [(size[0] * factor**k, size[1] * factor**k) for k in range(count)]


def check_pass(
    size: tuple[int, int], factor: int, max_pixels: int, upscaler: str, fields: tuple[str, str], why: str = ""
) -> None:
    """RequestInvalid naming ``fields`` (the upscaler and the scale) when a pass of ``factor`` on ``size`` makes
    more than ``max_pixels`` pixels."""
    width, height = size[0] * max(1, factor), size[1] * max(1, factor)
    if width * height <= max_pixels:
        return
    msg = (
        f"upscaler {upscaler!r} is {factor}x{why}: its pass on {size[0]}x{size[1]} makes {width}x{height}, more than "
        f"{max_pixels} pixels (SDQ_MAX_UPSCALE_PIXELS); use a smaller scale or image, a model of a smaller factor, or "
        "a resampler (lanczos)"
    )
    raise RequestInvalid(msg, [FieldError(loc=["body", field], msg=msg) for field in fields])


def check_passes(
    size: tuple[int, int],
    target: tuple[int, int],
    factor: int,
    max_pixels: int,
    upscaler: str,
    fields: tuple[str, str],
    why: str = "",
) -> None:
    """Every pass of the plan from ``size`` to ``target`` within ``max_pixels`` (see :func:`check_pass`).

    Seven parameters: the plan (sizes, factor), the limit, and what a refusal names (upscaler, fields, how the factor
    is known)."""
    for pass_size in model_passes(size, target, factor):
        check_pass(pass_size, factor, max_pixels, upscaler, fields, why)


def factor_from_name(name: str) -> int | None:
    """The factor a model's file name states (``4x_foo``, ``foo_x2``, ``RealESRGAN_x4plus``), or None."""
    found = _NAME_FACTOR.search(name)
    if found is None:
        return None
    factor = int(found.group(1) or found.group(2))
    return factor if factor >= 1 else None
