"""What happens to generated images between the pipeline and the disk: the visible and invisible watermarks."""

from __future__ import annotations

from typing import Any

from PIL import Image

from models.watermark import (
    apply_invisible,
    apply_visible,
    can_carry_invisible,
    is_invisible_available,
)
from schemas.requests import AnyRequest
from schemas.settings import Settings


def watermark(settings: Settings, request: AnyRequest, images: list[Image.Image]) -> tuple[list[Any], list[dict]]:
    """The images with the request's visible mark and the server's invisible one, and per image what was applied.
    Without the invisible-watermark package the invisible mark is skipped (the worker logs it at start)."""
    mark = settings.visible_mark(request.watermark)
    marked, records = [], []
    for image in images:
        if mark is not None:
            image = apply_visible(image, mark, settings.watermark_font)
        invisible = settings.invisible_watermark and can_carry_invisible(image) and is_invisible_available()
        if invisible:
            image = apply_invisible(image, settings.invisible_watermark_payload)
        marked.append(image)
        records.append({"visible_watermark": mark is not None, "invisible_watermark": invisible})
    return marked, records
