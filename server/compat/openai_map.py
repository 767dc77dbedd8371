"""OpenAI Images API ↔ sdqueue: sizes, model aliases, masks, output encodings and error bodies."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image, UnidentifiedImageError

from schemas.compat.openai import ErrorBody, ErrorResponse, OutputFormat
from schemas.errors import Problem, RequestInvalid

SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
# sdqueue field → the OpenAI field a client knows it by
PARAMS = {
    "width": "size",
    "height": "size",
    "batch_size": "n",
    "init_image": "image",
    "image": "image",
    "mask": "mask",
    "prompt": "prompt",
    "model": "model",
}
STATUS_TYPES = {
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
POLICY_CODES = frozenset({"content_blocked", "nsfw_detected"})


def invalid(param: str, msg: str) -> RequestInvalid:
    return RequestInvalid.for_field(["body", param], msg)


def parse_size(size: str | None) -> tuple[int, int] | None:
    """``'WxH'`` as pixels, or None for ``auto``/unset; sdqueue needs multiples of 8 in 64..2048."""
    if size is None or size == "auto":
        return None
    match = SIZE.match(size)
    if match is None:
        raise invalid("size", f"size {size!r} is not 'WIDTHxHEIGHT' (e.g. '512x512') or 'auto'")
    width, height = int(match.group(1)), int(match.group(2))
    for side in (width, height):
        if not 64 <= side <= 2048 or side % 8:
            raise invalid("size", f"size {size!r}: each side must be a multiple of 8 from 64 to 2048")
    return width, height


def resolve_model(name: str | None, aliases: dict[str, str]) -> str | None:
    """The checkpoint for an OpenAI model name: an alias's target ('' = the default model), else the name."""
    if name is None:
        return None
    if name in aliases:
        return aliases[name] or None
    return name


def default_format(model: str | None) -> str:
    """OpenAI's rule: dall-e-* (the default model is dall-e-2) answers url, gpt-image-* and others b64_json."""
    return "url" if model is None or model.startswith("dall-e") else "b64_json"


def open_upload(data: bytes, param: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise invalid(param, f"{param} is not a readable image") from exc
    return image


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def mask_from_alpha(image: Image.Image, param: str) -> str:
    """An OpenAI mask (transparent = edit) as an sdqueue mask (white = repaint): grey = 255 - alpha, base64 PNG."""
    if not has_alpha(image):
        raise invalid(param, f"{param} has no alpha channel: OpenAI masks mark the area to edit as transparent")
    alpha = image.convert("RGBA").getchannel("A")
    grey = alpha.point(lambda value: 255 - value)
    return encode_png(grey)


def is_partly_transparent(image: Image.Image) -> bool:
    if not has_alpha(image):
        return False
    low, _ = image.convert("RGBA").getchannel("A").getextrema()
    return isinstance(low, int) and low < 255


def encode_png(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def encode_output(png: bytes, output_format: OutputFormat, compression: int | None) -> str:
    """A result PNG as base64 in the asked format (PNG as stored, with its parameters chunk)."""
    if output_format == "png":
        return base64.b64encode(png).decode()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format=output_format.upper(), quality=100 if compression is None else compression)
    return base64.b64encode(out.getvalue()).decode()


def error_from_problem(problem: Problem) -> tuple[int, ErrorResponse]:
    """OpenAI's status and error body for a native problem: refused input is 400, policy refusals 400 too."""
    param = None
    for error in problem.errors:
        named = [part for part in error.loc[1:] if isinstance(part, str)]
        if named:
            param = PARAMS.get(named[0], named[0])
            break
    status = problem.status
    if problem.code in POLICY_CODES:
        status, code, kind = 400, "content_policy_violation", "invalid_request_error"
    elif status == 422 or status == 400:
        status, code, kind = 400, problem.code, "invalid_request_error"
    elif status >= 500:
        code, kind = problem.code, "server_error"
    else:
        code, kind = problem.code, STATUS_TYPES.get(status, "invalid_request_error")
    if code == "unauthorized":
        code = "invalid_api_key"
    message = problem.detail
    if problem.errors and problem.status == 422:
        message = "; ".join(f"{param or 'request'}: {e.msg}" for e in problem.errors[:3])
    body = ErrorBody(message=message, type=kind, param=param, code=code)
    return status, ErrorResponse(error=body)
