"""The AUTOMATIC1111 "Extras" upscaling (``extra-single-image``, ``extra-batch-images``) as native upscale jobs.

``upscaler_1`` names a resampler (``Lanczos``, ``Nearest``, ``Bicubic``) or an installed model from
models/upscalers/ (case does not matter); ``None`` keeps the size (a scale-1 Lanczos job). ``resize_mode`` 0 scales
by ``upscaling_resize``; 1 scales to cover ``upscaling_resize_w`` x ``upscaling_resize_h`` and, with
``upscaling_crop`` (the default), the answer is centre-cropped to exactly that size (the job keeps the uncropped
image). Face restoration and the second upscaler are ignored.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from fastapi import APIRouter, Request
from PIL import Image, UnidentifiedImageError

from auth.principal import Principal
from schemas.compat.a1111 import (
    A1111ExtrasBase,
    A1111ExtrasBatch,
    A1111ExtrasSingle,
    ExtrasBatchAnswer,
    ExtrasSingleAnswer,
)
from schemas.errors import RequestInvalid
from schemas.models import ModelType
from schemas.requests import RESAMPLERS, UpscaleRequest
from server.compat.a1111 import A1111Route
from server.compat.a1111_lists import entries_of
from server.compat.credentials import CompatGenerate
from server.compat.runner import NativeDep, build_request, run_job
from server.images import decode_bytes

router = APIRouter(prefix="/sdapi/v1", tags=["automatic1111"], route_class=A1111Route)

MAX_SCALE = 8.0


async def upscaler_of(name: str | None, http: Request) -> str | None:
    """The native upscaler of ``upscaler_1`` (None for 'None': no upscaling); an unknown name is a 422 naming it."""
    wanted = (name or "None").strip()
    if wanted.lower() in ("none", ""):
        return None
    if wanted.lower() in RESAMPLERS:
        return wanted.lower()
    for entry in await entries_of(http, ModelType.UPSCALER):
        if entry.name.lower() == wanted.lower():
            return entry.name
    msg = f"unknown upscaler {wanted!r}; GET /sdapi/v1/upscalers lists the installed ones"
    raise RequestInvalid.for_field(["body", "upscaler_1"], msg, msg)


def _size(data: str, loc: list[str | int]) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(decode_bytes(data, tuple(loc)))) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise RequestInvalid.for_field(loc, "not a readable image") from exc


def _plan(body: A1111ExtrasBase, size: tuple[int, int]) -> tuple[float, tuple[int, int] | None]:
    """The scale of the job, and the size to crop the answer to (resize_mode 1 with upscaling_crop)."""
    if (body.resize_mode or 0) != 1:
        scale = body.upscaling_resize if body.upscaling_resize is not None else 2.0
        if not 1 <= scale <= MAX_SCALE:
            msg = f"must be from 1 to {MAX_SCALE:g} (sdqueue does not scale down)"
            raise RequestInvalid.for_field(["body", "upscaling_resize"], msg, f"upscaling_resize: {msg}")
        return scale, None
    width, height = body.upscaling_resize_w or 512, body.upscaling_resize_h or 512
    scale = max(width / size[0], height / size[1])
    if not 1 <= scale <= MAX_SCALE:
        msg = f"{width}x{height} is {scale:.2f} times the {size[0]}x{size[1]} input; it must be 1 to {MAX_SCALE:g}"
        raise RequestInvalid.for_field(["body", "upscaling_resize_w"], msg, f"upscaling_resize_w/_h: {msg}")
    return scale, (width, height) if body.upscaling_crop is not False else None


def _cropped(png: bytes, crop: tuple[int, int] | None) -> bytes:
    if crop is None:
        return png
    image = Image.open(io.BytesIO(png))
    left, top = (image.width - crop[0]) // 2, (image.height - crop[1]) // 2
    out = io.BytesIO()
    image.crop((left, top, left + crop[0], top + crop[1])).save(out, format="PNG", pnginfo=None)
    return out.getvalue()


async def _upscale(
    body: A1111ExtrasBase, image: str, loc: list[str | int], principal: Principal, jobs: NativeDep, http: Request
) -> tuple[str, str]:
    """One image through a native upscale job: (base64 PNG, the job id)."""
    upscaler = await upscaler_of(body.upscaler_1, http)
    scale, crop = _plan(body, _size(image, loc))
    fields: dict[str, Any] = {"image": image, "upscaler": upscaler or "lanczos", "scale": scale if upscaler else 1.0}
    finished = await run_job(build_request(UpscaleRequest, fields), principal, jobs, http)
    return base64.b64encode(_cropped(finished.pngs[0], crop if upscaler else None)).decode(), finished.view.id


def _html(job_ids: list[str]) -> str:
    return "<p>sdqueue job " + ", ".join(job_ids) + "</p>"


@router.post(
    "/extra-single-image", response_model=ExtrasSingleAnswer, summary="A1111: upscale one image (a native upscale job)"
)
async def extra_single_image(
    body: A1111ExtrasSingle, principal: CompatGenerate, jobs: NativeDep, http: Request
) -> ExtrasSingleAnswer:
    image, job_id = await _upscale(body, body.image, ["body", "image"], principal, jobs, http)
    return ExtrasSingleAnswer(html_info=_html([job_id]), image=image)


@router.post(
    "/extra-batch-images", response_model=ExtrasBatchAnswer, summary="A1111: upscale images (one native job each)"
)
async def extra_batch_images(
    body: A1111ExtrasBatch, principal: CompatGenerate, jobs: NativeDep, http: Request
) -> ExtrasBatchAnswer:
    images, job_ids = [], []
    for index, item in enumerate(body.imageList):
        image, job_id = await _upscale(body, item.data, ["body", "imageList", index, "data"], principal, jobs, http)
        images.append(image)
        job_ids.append(job_id)
    return ExtrasBatchAnswer(html_info=_html(job_ids), images=images)
