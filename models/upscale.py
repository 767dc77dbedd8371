"""Upscalers: Pillow resamplers, and models from models/upscalers/ loaded with spandrel and run tile by tile.

spandrel detects the architecture (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT, ...) from the weights' names and shapes;
``.pth`` files are read with its restricted unpickler (tensors and plain containers only). A model runs on tiles of
``tile_size`` input pixels with ``padding`` pixels of context on each side that are cut off again after the model,
so neighbouring tiles see the same surroundings and leave no seams. A model of factor s runs as many times as
needed to reach the requested size; the result is then resized to the exact size with Lanczos (as AUTOMATIC1111).
The plan and the pixel cap on each pass are shared with the API (``schemas.upscalers``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from schemas.upscalers import check_pass, model_passes

RESAMPLING = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}
TileCallback = Callable[[int, int], None]
"""Called after each tile with (tiles done, tiles in all); an exception it raises stops the upscale."""


def load_upscaler(path: Path, device: str, dtype_name: str) -> Any:
    """A spandrel ``ImageModelDescriptor`` in eval mode on ``device`` (half precision where the policy and the
    architecture allow it). ValueError for a file spandrel loads but that is not an image-to-image model."""
    import spandrel

    descriptor = spandrel.ModelLoader(device=device).load_from_file(str(path))
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ValueError(f"{path.name} is a {descriptor.purpose} model that needs a mask, not an upscaler")
    descriptor.eval()
    if dtype_name == "float16" and device == "cuda" and descriptor.supports_half:
        descriptor.half()
    elif dtype_name == "bfloat16" and device == "cuda" and descriptor.supports_bfloat16:
        descriptor.bfloat16()
    return descriptor


def tile_boxes(width: int, height: int, tile_size: int) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) boxes of at most ``tile_size`` a side covering the image, row by row."""
    return [
        (left, top, min(left + tile_size, width), min(top + tile_size, height))
        for top in range(0, height, tile_size)
        for left in range(0, width, tile_size)
    ]


def run_tiled(descriptor: Any, image: Image.Image, tile_size: int, padding: int, on_tile: Callable[[], None]) -> Any:
    """One model pass over ``image`` (RGB), tile by tile with ``padding`` px of context; returns a PIL image."""
    import numpy as np
    import torch

    parameter = next(descriptor.model.parameters())
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    pixels = pixels.to(parameter.device, parameter.dtype)
    factor, (width, height) = descriptor.scale, image.size
    output = torch.empty((1, 3, height * factor, width * factor), dtype=torch.float32)
    with torch.inference_mode():
        for left, top, right, bottom in tile_boxes(width, height, tile_size):
            pad_left, pad_top = max(0, left - padding), max(0, top - padding)
            pad_right, pad_bottom = min(width, right + padding), min(height, bottom + padding)
            result = descriptor(pixels[:, :, pad_top:pad_bottom, pad_left:pad_right]).float().cpu()
            y, x = (top - pad_top) * factor, (left - pad_left) * factor
            output[:, :, top * factor : bottom * factor, left * factor : right * factor] = result[
                :, :, y : y + (bottom - top) * factor, x : x + (right - left) * factor
            ]
            on_tile()
    array = (output[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(array, "RGB")


def upscale_image(
    image: Image.Image,
    size: tuple[int, int],
    upscaler: str,
    descriptor: Any | None,
    tile_size: int,
    padding: int,
    on_tile: TileCallback | None = None,
    max_pixels: int | None = None,
    fields: tuple[str, str] = ("upscaler", "scale"),
) -> Image.Image:
    """``image`` at ``size``: resampled with ``upscaler`` (a Pillow name), or run through ``descriptor``'s model
    (as often as needed) and then resized to the exact size with Lanczos. With ``max_pixels``, each pass is checked
    before it runs: RequestInvalid naming ``fields`` when its output would be larger.

    Nine parameters: the image, its target, the upscaler and its tiling, and the per-pass limit with the request
    fields it names; the API's hires fix and upscale jobs pass different ones."""
    if descriptor is None:
        return image.resize(size, RESAMPLING[upscaler])
    if descriptor.tiling.name == "INTERNAL":
        tile_size = max(size)  # the model tiles itself (or needs the whole image)
    passes = model_passes(image.size, size, descriptor.scale)
    total = sum(len(tile_boxes(w, h, tile_size)) for w, h in passes)
    done = 0

    def tile_done() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    current = image.convert("RGB")
    for _ in passes:
        if max_pixels is not None:
            check_pass(current.size, descriptor.scale, max_pixels, upscaler, fields)
        current = run_tiled(descriptor, current, tile_size, padding, tile_done)
    return current if current.size == size else current.resize(size, Image.Resampling.LANCZOS)
