"""The AUTOMATIC1111 web UI API under ``/sdapi/v1``: a synchronous facade over the native jobs (docs/clients.md).

txt2img and img2img (inpainting with ``mask``; ControlNet with ``alwayson_scripts.controlnet``) submit a native
job, wait for it and answer ``{images, parameters, info}``. Progress, interrupt and skip: a1111_progress; upscaling:
a1111_extras; the lists: a1111_lists. Errors stay sdqueue's problem details (their ``detail`` is what A1111
clients print).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from auth.principal import Principal
from models.registry import ModelRegistry
from schemas.compat.a1111 import A1111Answer, A1111Img2Img, A1111Txt2Img, PngInfoAnswer, PngInfoBody
from schemas.errors import AppError, RequestInvalid
from schemas.models import ModelType
from schemas.requests import (
    SCHEDULER_LABELS,
    AnyRequest,
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    Sampler,
    Txt2ImgRequest,
)
from server.compat.a1111_controlnet import controlnet_units
from server.compat.a1111_map import img2img_fields, info, infotext_of, parse_infotext, txt2img_fields
from server.compat.choices import choose_checkpoint, chosen_checkpoint
from server.compat.credentials import CompatGenerate, CompatReadJobs, CompatReadModels
from server.compat.runner import ClientGone, JobFailed, Native, NativeDep, build_request, run_job
from server.images import decode_bytes
from server.problems import problem_response

CLIENT_CLOSED = 499


class A1111Route(APIRoute):
    """Renders a failed job's error as the problem details the native job view holds."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except JobFailed as exc:
                return problem_response(exc.problem)
            except ClientGone:
                return Response(status_code=CLIENT_CLOSED)

        return guarded


router = APIRouter(prefix="/sdapi/v1", tags=["automatic1111"], route_class=A1111Route)


async def _generate(
    native: AnyRequest,
    body: dict[str, Any],
    send_images: bool | None,
    principal: Principal,
    jobs: Native,
    http: Request,
) -> A1111Answer:
    finished = await run_job(native, principal, jobs, http, canceled_ok=True)  # interrupted: no images
    texts = [infotext_of(png) for png in finished.pngs]
    images = [base64.b64encode(png).decode() for png in finished.pngs] if send_images is not False else []
    return A1111Answer(images=images, parameters=body, info=info(finished.view, native, texts))


async def _with_choice(fields: dict[str, Any], principal: Principal, jobs: Native) -> dict[str, Any]:
    """Without override_settings' checkpoint, the one the caller chose with POST /options (if any)."""
    if "model" in fields:
        return fields
    chosen = await run_in_threadpool(chosen_checkpoint, jobs.redis, principal.name)
    return fields | {"model": chosen} if chosen else fields


@router.post("/txt2img", response_model=A1111Answer, summary="A1111: text to image (waits for the job)")
async def txt2img(body: A1111Txt2Img, principal: CompatGenerate, jobs: NativeDep, http: Request) -> A1111Answer:
    fields = await _with_choice(txt2img_fields(body), principal, jobs)
    units, resize = controlnet_units(body.alwayson_scripts, None)
    if units:  # no hires pass with ControlNet (the native ControlNet mode has none)
        fields = {k: v for k, v in fields.items() if not k.startswith("hr_")} | {"controlnets": units}
        native: AnyRequest = build_request(ControlNetRequest, fields | {"resize_mode": resize})
    else:
        native = build_request(Txt2ImgRequest, fields)
    return await _generate(native, body.model_dump(), body.send_images, principal, jobs, http)


@router.post("/img2img", response_model=A1111Answer, summary="A1111: image to image; with `mask`, inpainting")
async def img2img(body: A1111Img2Img, principal: CompatGenerate, jobs: NativeDep, http: Request) -> A1111Answer:
    mode, fields = img2img_fields(body)
    fields = await _with_choice(fields, principal, jobs)
    units, _ = controlnet_units(body.alwayson_scripts, body.init_images[0])
    if units and mode == "inpaint":
        msg = "ControlNet units cannot be combined with a mask (sdqueue has no ControlNet inpainting)"
        raise RequestInvalid.for_field(["body", "alwayson_scripts", "controlnet"], msg, msg)
    if units:
        native: AnyRequest = build_request(ControlNetRequest, fields | {"controlnets": units})
    elif mode == "inpaint":
        native = build_request(InpaintRequest, fields)
    else:
        native = build_request(Img2ImgRequest, fields)
    echoed = body.model_dump(exclude={"init_images", "mask"})
    return await _generate(native, echoed, body.send_images, principal, jobs, http)


def _registry(http: Request) -> ModelRegistry:
    registry: ModelRegistry = http.app.state.registry
    return registry


@router.get("/sd-models", summary="A1111: installed checkpoints")
async def sd_models(principal: CompatReadModels, http: Request) -> list[dict[str, Any]]:
    entries = await run_in_threadpool(_registry(http).refresh)
    return [
        {
            "title": f"{e.name} [{e.short_hash}]" if e.short_hash else e.name,
            "model_name": e.name,
            "hash": e.short_hash,
            "sha256": e.sha256,
            "filename": e.path,
            "config": None,
        }
        for e in sorted(entries, key=lambda e: e.name.lower())
        if e.type is ModelType.CHECKPOINT
    ]


@router.get("/samplers", summary="A1111: samplers (name = A1111 label, alias = sdqueue name)")
async def samplers(principal: CompatReadModels) -> list[dict[str, Any]]:
    return [{"name": s.label, "aliases": [s.value], "options": {}} for s in Sampler]


@router.get("/schedulers", summary="A1111: schedule types")
async def schedulers(principal: CompatReadModels) -> list[dict[str, Any]]:
    return [
        {"name": s.value, "label": label, "aliases": None, "default_rho": -1, "need_inner_model": False}
        for s, label in SCHEDULER_LABELS.items()
    ]


@router.get("/options", summary="A1111: options; sd_model_checkpoint is your chosen checkpoint or the default")
async def options(principal: CompatReadModels, jobs: NativeDep, http: Request) -> dict[str, Any]:
    model = await run_in_threadpool(chosen_checkpoint, jobs.redis, principal.name)
    try:
        model = model or _registry(http).resolve_checkpoint(None, jobs.settings.default_model).name
    except AppError:
        model = None
    return {
        "sd_model_checkpoint": model,
        "sd_checkpoint_hash": None,
        "CLIP_stop_at_last_layers": 1,
        "sd_vae": "Automatic",
        "samples_format": "png",
        "save_images_default": True,
        "enable_pnginfo": True,
    }


@router.post(
    "/options",
    summary="A1111: choose your checkpoint (sd_model_checkpoint) for later calls; other options are ignored",
)
async def set_options(body: dict[str, Any], principal: CompatGenerate, jobs: NativeDep, http: Request) -> None:
    title = body.get("sd_model_checkpoint")
    if isinstance(title, str) and title:
        await run_in_threadpool(choose_checkpoint, jobs.redis, _registry(http), principal.name, title)


@router.post("/png-info", response_model=PngInfoAnswer, summary="A1111: the generation parameters of a PNG")
async def png_info(body: PngInfoBody, principal: CompatReadJobs) -> PngInfoAnswer:
    data = decode_bytes(body.image, "image")
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise RequestInvalid.for_field(["body", "image"], "not a readable image") from exc
    text = image.info.get("parameters")
    text = text if isinstance(text, str) else ""
    items = {k: v for k, v in image.info.items() if k != "parameters" and isinstance(v, str)}
    return PngInfoAnswer(info=text, items=items, parameters=parse_infotext(text) if text else {})
