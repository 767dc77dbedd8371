"""Images in requests: decode, check and normalise them before anything is queued (Pillow, no torch).

Accepted: an upload id (``upl_...``), a data URL, raw base64, or an http(s) URL of PNG, JPEG, WebP, BMP, TIFF or
GIF. Each check names the field: empty, over ``SDQ_MAX_IMAGE_BYTES``, not base64, not an image, more than
``SDQ_MAX_IMAGE_PIXELS`` (checked from the header, before decoding: no decompression bomb gets decoded), truncated or
corrupt. Animated images use their first frame. EXIF orientation is applied. Everything becomes 8-bit RGB (alpha
flattened on white; CMYK, palette and 16-bit converted); masks become 8-bit grey.

URLs are fetched by the API when the request is submitted or validated, through :mod:`server.fetch`: http and https
only, no credentials in the URL, the host's every resolved address checked against loopback, private, link-local
(cloud metadata), CGNAT, multicast and reserved networks and the connection made to the checked address (no DNS
rebinding), at most ``SDQ_FETCH_MAX_REDIRECTS`` redirects each checked again, ``SDQ_MAX_IMAGE_BYTES`` counted while
the body streams, ``SDQ_FETCH_TIMEOUT`` seconds in all. ``SDQ_FETCH_ALLOW_NETWORKS`` lets chosen networks through
(tests, a trusted LAN). The fetched bytes then pass the same checks as any other image.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from schemas.errors import FieldPath, RequestInvalid, body_loc
from schemas.jobs import upload_image_path
from schemas.settings import Settings
from server.fetch import FetchError, ImageFetcher
from store.files import write_atomically

UPLOAD_ID = re.compile(r"^upl_[0-9a-f]{32}$")
DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,", re.IGNORECASE)
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _refuse(field: FieldPath, msg: str) -> RequestInvalid:
    return RequestInvalid.for_field(body_loc(field), msg)


def is_url(value: str) -> bool:
    return URL_SCHEME.match(value) is not None


def fetch_bytes(url: str, field: FieldPath, settings: Settings) -> bytes:
    """The body at an http(s) URL, fetched under the SSRF rules of :mod:`server.fetch`; refusals name the field."""
    try:
        return ImageFetcher.from_settings(settings).fetch(url)
    except FetchError as exc:
        raise _refuse(field, str(exc)) from exc


def read_bytes(value: str, field: FieldPath, settings: Settings) -> bytes:
    """The bytes an image field names inline: fetched from an http(s) URL, or decoded from a data URL / base64."""
    return fetch_bytes(value, field, settings) if is_url(value) else decode_bytes(value, field)


def decode_bytes(value: str, field: FieldPath) -> bytes:
    payload = DATA_URL.sub("", value, count=1)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _refuse(field, "not an upload id, a data URL or valid base64") from exc


def open_image(data: bytes, field: FieldPath, settings: Settings, *, grey: bool = False) -> Image.Image:
    """A checked, fully decoded 8-bit RGB (or grey) image with EXIF orientation applied."""
    if not data:
        raise _refuse(field, "the image is empty (0 bytes)")
    if len(data) > settings.max_image_bytes:
        raise _refuse(field, f"the image has {len(data)} bytes; the limit is {settings.max_image_bytes}")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _refuse(field, f"the image has more than {settings.max_image_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise _refuse(field, f"not a readable image ({type(exc).__name__})") from exc
    pixels = image.width * image.height
    if pixels > settings.max_image_pixels:
        raise _refuse(field, f"{image.width}x{image.height} is more than {settings.max_image_pixels} pixels")
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # animated: the first frame
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise _refuse(field, f"the image is truncated or corrupt ({exc})") from exc
    return _normalise(ImageOps.exif_transpose(image), grey)


def _normalise(image: Image.Image, grey: bool) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")  # 16-bit: keep the top 8 bits
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("L" if grey else "RGB")


def write_png(image: Image.Image, path: Path) -> None:
    """Write ``path`` as a PNG with mode 0600, like the worker's outputs: into a temporary file beside it (mkstemp
    creates it 0600), then renamed into place, so a reader never sees a partial file."""
    write_atomically(path, lambda handle: image.save(handle, "PNG"))


def new_upload_id() -> str:
    return "upl_" + secrets.token_hex(16)


def upload_path(settings: Settings, upload_id: str) -> Path:
    return upload_image_path(settings.data_dir, upload_id)


def describe(image: Image.Image) -> dict[str, Any]:
    return {"width": image.width, "height": image.height}
