"""Submit generation jobs and upload images. Each submit validates, checks the caller's limits, prepares the input
images, enqueues and answers 202."""

from __future__ import annotations

from fastapi import APIRouter, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from auth.deps import CanGenerate
from auth.principal import Principal
from schemas.jobs import JobAccepted
from schemas.requests import (
    AnyJobRequest,
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    Txt2ImgRequest,
    UpscaleRequest,
)
from server.deps import InputsDep, SubmitsDep, problem_responses
from server.policy import CanUpload, UploadQuotaDep
from server.submit import SubmitService

router = APIRouter(prefix="/api/v1", tags=["generate"])

_SUBMIT = dict(
    status_code=202,
    response_model=JobAccepted,
    responses={
        200: {"model": JobAccepted, "description": "Result-cache hit: the job finished at once (`cached: true`)."},
        **problem_responses(401, 403, 413, 422, 429, 503),
    },
)
_POLL = (
    "Poll `links.self` until `status` is finished, failed or canceled, or follow `.../events`. With an explicit "
    "seed an identical earlier request's result is reused (200, `cached: true`) unless `force_regenerate`."
)


async def _submit(
    request: AnyJobRequest, principal: Principal, submits: SubmitService, response: Response
) -> JobAccepted:
    accepted = await run_in_threadpool(submits.submit, request, principal)
    response.headers["Location"] = accepted.links["self"]
    if accepted.cached:
        response.status_code = 200  # a result-cache hit: the job finished already
    return accepted


@router.post(
    "/generate/txt2img",
    summary="Queue a text-to-image job",
    description=(
        "Validates the request (unknown fields and out-of-range values are refused with 422 problem details naming "
        "the field; an unknown model is refused here, not in the worker), queues it and answers at once. " + _POLL
    ),
    **_SUBMIT,  # type: ignore[arg-type]
)
async def txt2img(
    request: Txt2ImgRequest, principal: CanGenerate, submits: SubmitsDep, response: Response
) -> JobAccepted:
    return await _submit(request, principal, submits, response)


@router.post(
    "/generate/img2img",
    summary="Queue an image-to-image job",
    description=(
        "`init_image` is an upload id, a data URL, base64 or an http(s) URL the API fetches (public addresses "
        "only); its checks (size, pixels, format, truncation, the URL's address) name the "
        "field. Without width/height the output has the input's size rounded down to a multiple of 8. `strength` 0 "
        "returns the input unchanged. " + _POLL
    ),
    **_SUBMIT,  # type: ignore[arg-type]
)
async def img2img(
    request: Img2ImgRequest, principal: CanGenerate, submits: SubmitsDep, response: Response
) -> JobAccepted:
    return await _submit(request, principal, submits, response)


@router.post(
    "/generate/inpaint",
    summary="Queue an inpainting job (white in the mask = repaint)",
    description=(
        "`image` and `mask` must be the same size (a mismatch is refused, naming `mask`). The mask edge is blurred by "
        "`mask_blur`; pixels the blurred mask leaves black are returned exactly as they were. `inpaint_full_res` "
        "repaints only the box around the mask (plus `inpaint_full_res_padding`) at width x height and pastes it "
        "back: the output keeps the image's size. Image fields also take http(s) URLs (public addresses only). " + _POLL
    ),
    **_SUBMIT,  # type: ignore[arg-type]
)
async def inpaint(
    request: InpaintRequest, principal: CanGenerate, submits: SubmitsDep, response: Response
) -> JobAccepted:
    return await _submit(request, principal, submits, response)


@router.post(
    "/generate/controlnet",
    summary="Queue a ControlNet job (txt2img, or img2img with init_image), 1..4 ControlNets",
    description=(
        "Each unit of `controlnets` names a ControlNet in models/controlnet/ (refused at submit when unknown or of "
        "another family than the checkpoint, naming `controlnets.N.controlnet`) and its `control_image` (an upload "
        "id, a data URL or base64; checked like every image, naming `controlnets.N.control_image`), with "
        "`conditioning_scale`, `guidance_start`/`guidance_end` and a `preprocessor` (`none`, or `canny` with "
        "`low_threshold`/`high_threshold`, run at submit). Without width/height the output has the size of "
        "`init_image`, else of the first control image, rounded down to 8; every image is fitted to it by "
        "`resize_mode`. " + _POLL
    ),
    **_SUBMIT,  # type: ignore[arg-type]
)
async def controlnet(
    request: ControlNetRequest, principal: CanGenerate, submits: SubmitsDep, response: Response
) -> JobAccepted:
    return await _submit(request, principal, submits, response)


@router.post(
    "/generate/upscale",
    summary="Queue an upscale job (a model from models/upscalers/, or lanczos/bicubic/nearest)",
    description=(
        "`image` is an upload id, a data URL or base64. The output is `scale` times the input (each side, rounded); "
        "an output over SDQ_MAX_UPSCALE_PIXELS is refused naming `scale`, an unknown upscaler naming `upscaler`. "
        "Model upscalers (ESRGAN, Real-ESRGAN, SwinIR, ... loaded with spandrel) run tile by tile (`tile_size`), "
        "each tile with context padding that is cut off again, so tiles leave no seams; progress counts tiles "
        "and a cancel stops at the next tile. " + _POLL
    ),
    **_SUBMIT,  # type: ignore[arg-type]
)
async def upscale(
    request: UpscaleRequest, principal: CanGenerate, submits: SubmitsDep, response: Response
) -> JobAccepted:
    return await _submit(request, principal, submits, response)


@router.post(
    "/uploads",
    status_code=201,
    responses=problem_responses(401, 403, 413, 422, 429),
    summary="Upload an image (multipart field 'file'); its id works in any image field of your requests",
    description=(
        "With authentication on, each principal may upload SDQ_UPLOADS_PER_MINUTE images a minute (429 with "
        "Retry-After) and keep SDQ_MAX_UPLOADS_PER_USER uploads of SDQ_MAX_UPLOAD_BYTES_PER_USER bytes in all "
        "(413 naming `file`); uploads expire after the retention time."
    ),
)
async def upload(file: UploadFile, principal: CanUpload, quota: UploadQuotaDep, inputs: InputsDep) -> dict[str, object]:
    data = await file.read()
    return await run_in_threadpool(inputs.save_upload, data, principal.name, "file", quota)
