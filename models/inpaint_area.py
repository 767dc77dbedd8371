"""Inpaint "only masked" (AUTOMATIC1111's ``inpaint_full_res``): repaint just the part of the image around the mask,
at the job's full resolution, and paste it back.

The geometry is pure (boxes are ``(left, top, right, bottom)`` in pixels, right and bottom exclusive, as Pillow
uses them): the bounding box of the mask's non-black pixels, grown by the padding on every side, then grown along
one axis to the output's aspect ratio (centred, shifted to stay inside the image, clamped to it when the image is
too small). The crop of that box is stretched to width x height and repainted, the result is stretched back to the
box's size, pasted into the original and composited through the full-size mask, so every pixel the mask leaves
black is returned bit for bit. Pillow only (no torch): the API uses :func:`repaint_box` to refuse an empty mask.
"""

from __future__ import annotations

from PIL import Image

Box = tuple[int, int, int, int]


def pad_box(box: Box, padding: int, size: tuple[int, int]) -> Box:
    """``box`` grown by ``padding`` on every side, clamped to an image of ``size`` (width, height)."""
    left, top, right, bottom = box
    width, height = size
    return max(0, left - padding), max(0, top - padding), min(width, right + padding), min(height, bottom + padding)


def _grow(low: int, high: int, target: int, limit: int) -> tuple[int, int]:
    """The span [low, high) grown to ``target`` (at most ``limit``) around its centre, kept inside [0, limit)."""
    target = min(target, limit)
    extra = target - (high - low)
    if extra <= 0:
        return low, high
    low, high = low - extra // 2, high + extra - extra // 2
    if high > limit:
        low, high = low - (high - limit), limit
    if low < 0:
        low, high = 0, high - low
    return low, high


def fit_aspect(box: Box, width: int, height: int, size: tuple[int, int]) -> Box:
    """``box`` grown along one axis to the aspect ratio ``width``:``height``, inside an image of ``size``.

    Exact up to rounding, unless the image is too narrow (or too low) for it: then the box takes the image's whole
    width (or height) and the stretch to width x height distorts the crop a little, and back again on the paste.
    """
    left, top, right, bottom = box
    box_width, box_height = right - left, bottom - top
    if box_width * height > box_height * width:  # wider than the output: grow the height
        top, bottom = _grow(top, bottom, round(box_width * height / width), size[1])
    else:
        left, right = _grow(left, right, round(box_height * width / height), size[0])
    return left, top, right, bottom


def repaint_box(mask: Image.Image, padding: int, width: int, height: int) -> Box | None:
    """The region of the image to repaint for a (blurred) ``mask``, or None when the mask selects nothing."""
    bounds = mask.getbbox()  # the non-black pixels
    if bounds is None:
        return None
    return fit_aspect(pad_box(bounds, padding, mask.size), width, height, mask.size)


def crop_for_repaint(
    image: Image.Image, mask: Image.Image, box: Box, width: int, height: int
) -> tuple[Image.Image, Image.Image]:
    """The image and mask inside ``box``, stretched to the job's width x height."""
    size = (width, height)
    return (
        image.crop(box).resize(size, Image.Resampling.LANCZOS),
        mask.crop(box).resize(size, Image.Resampling.LANCZOS),
    )


def paste_back(repainted: Image.Image, image: Image.Image, mask: Image.Image, box: Box) -> Image.Image:
    """``repainted`` (width x height) scaled to the box, pasted into ``image`` and composited through ``mask``:
    the result has the image's size, and the pixels the mask leaves black are the image's own."""
    left, top, right, bottom = box
    pasted = image.copy()
    pasted.paste(repainted.convert(image.mode).resize((right - left, bottom - top), Image.Resampling.LANCZOS), box)
    return Image.composite(pasted, image, mask)
