"""Watermarks on generated images: a visible text mark (Pillow) and an invisible payload (invisible-watermark's
DWT-DCT method, as the SDXL pipelines use it).

The visible mark is drawn with the configured font file, else the font bundled with Pillow (Aileron Regular,
``ImageFont.load_default(size)``): nothing is downloaded. The invisible mark changes pixels by a few levels (mean
below 1 level, measured) and needs at least 256x256 pixels; smaller images are left without it. invisible-watermark
imports torch, so reading marks back happens in the worker and the CLI, never in the API process.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from schemas.watermark import VisibleWatermark, WatermarkCheck, WatermarkPosition

MIN_INVISIBLE_PIXELS = 256 * 256
METHOD = "dwtDct"


def _font(size: int, path: Path | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _origin(image: Image.Image, ink: tuple[int, int], mark: VisibleWatermark) -> tuple[int, int]:
    """Where the text's ink box of size ``ink`` goes: at the mark's position, ``margin`` from the edges."""
    width, height = ink
    x = {"left": mark.margin, "right": image.width - mark.margin - width, "center": (image.width - width) // 2}
    y = {"top": mark.margin, "bottom": image.height - mark.margin - height, "center": (image.height - height) // 2}
    vertical, _, horizontal = mark.position.value.partition("-")
    if mark.position is WatermarkPosition.CENTER:
        vertical = horizontal = "center"
    return x[horizontal], y[vertical]


def _glyphs(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> Image.Image:
    """The text's coverage (L mode), cropped to its ink so that the margins are exact."""
    right, bottom = (round(edge) for edge in ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font)[2:])
    canvas = Image.new("L", (right + 2, bottom + 2))
    ImageDraw.Draw(canvas).text((0, 0), text, font=font, fill=255)
    ink = canvas.getbbox()
    return canvas.crop(ink) if ink else canvas.crop((0, 0, 1, 1))


def apply_visible(image: Image.Image, mark: VisibleWatermark, font_path: Path | None = None) -> Image.Image:
    """``image`` (RGB) with the text drawn at ``mark.opacity``."""
    size = mark.font_size or max(10, round(min(image.size) * 0.04))
    glyphs = _glyphs(mark.text, _font(size, font_path))
    alpha = Image.new("L", image.size, 0)
    alpha.paste(glyphs.point(lambda value: round(value * mark.opacity)), _origin(image, glyphs.size, mark))
    overlay = Image.new("RGBA", image.size, (*mark.font_color, 0))
    overlay.putalpha(alpha)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


@functools.cache
def is_invisible_available() -> bool:
    """Whether invisible-watermark is installed (scripts/bootstrap.sh installs it; pip's -e . alone does not)."""
    return importlib.util.find_spec("imwatermark") is not None


def can_carry_invisible(image: Image.Image) -> bool:
    return image.width * image.height >= MIN_INVISIBLE_PIXELS


def apply_invisible(image: Image.Image, payload: str) -> Image.Image:
    """``image`` with ``payload`` embedded (DWT-DCT); unchanged when it is smaller than 256x256 pixels."""
    if not can_carry_invisible(image):
        return image
    from imwatermark import WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", payload.encode())
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    marked = encoder.encode(bgr, METHOD)
    return Image.fromarray(np.ascontiguousarray(marked[:, :, ::-1]), "RGB")


def read_invisible(image: Image.Image, length: int) -> bytes | None:
    """The ``length``-byte payload embedded in ``image`` (garbage when none is); None when it is too small."""
    if not can_carry_invisible(image):
        return None
    from imwatermark import WatermarkDecoder

    decoder = WatermarkDecoder("bytes", length * 8)
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    return bytes(decoder.decode(bgr, METHOD))


def check_invisible(image: Image.Image, expected: str) -> WatermarkCheck:
    """Whether ``image`` carries ``expected`` as its invisible watermark."""
    found = read_invisible(image, len(expected.encode()))
    if found is None:
        detail = f"{image.width}x{image.height} is smaller than 256x256 pixels: it cannot carry the watermark"
        return WatermarkCheck(watermarked=False, payload=None, expected=expected, detail=detail)
    payload = found.decode("utf-8", errors="replace")
    marked = found == expected.encode()
    detail = "the image carries this server's watermark" if marked else "no watermark of this server was found"
    return WatermarkCheck(watermarked=marked, payload=payload, expected=expected, detail=detail)
