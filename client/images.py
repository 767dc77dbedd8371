"""Images in and out: what counts as a local image to upload, how it is sent, and how results are opened."""

from __future__ import annotations

import io
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.jobs import JobView

if TYPE_CHECKING:
    from PIL.Image import Image

INLINE_PREFIXES = ("upl_", "data:", "http://", "https://")


def is_pil_image(value: object) -> bool:
    return any(cls.__module__.startswith("PIL.") and cls.__name__ == "Image" for cls in type(value).__mro__)


def is_local_image(value: object) -> bool:
    """A path, bytes or a PIL image (uploaded by the client); a string naming an existing file is a path.

    Other strings (an upload id, a data URL, base64, an http(s) URL) are sent as they are."""
    if isinstance(value, bytes | bytearray | memoryview | os.PathLike) or is_pil_image(value):
        return True
    if isinstance(value, str) and not value.startswith(INLINE_PREFIXES) and len(value) < 4096:
        return os.path.isfile(value)
    return False


def image_file(value: object) -> tuple[str, bytes, str]:
    """An image source as a multipart file: (name, bytes, media type). PIL images are sent as PNG."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "image", bytes(value), "application/octet-stream"
    if is_pil_image(value):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")  # type: ignore[attr-defined]
        return "image.png", buffer.getvalue(), "image/png"
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        return path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    raise TypeError(f"an image is a path, bytes or a PIL image, not a {type(value).__name__}")


def open_image(data: bytes) -> Image:
    """Downloaded bytes as a PIL image (loaded, so the bytes can go)."""
    from PIL import Image as PILImage

    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


def image_name(job_id: str, index: int, thumbnail: bool = False) -> str:
    """The file name a job's image is saved under (the server's download name): ``<job id>-<n>.png``."""
    return f"{job_id}-{index}.webp" if thumbnail else f"{job_id}-{index}.png"


def save_plan(view: JobView, folder: str | Path, thumbnails: bool = False) -> list[tuple[str, Path]]:
    """What :meth:`Job.save` downloads and where it writes it: (URL, path) pairs; makes the folder."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    plan = []
    for image in view.images:
        plan.append((image.url, target / image_name(view.id, image.index)))
        if thumbnails:
            plan.append((image.thumbnail_url, target / image_name(view.id, image.index, thumbnail=True)))
    return plan
