"""The OpenAI Images API under ``/v1``: a synchronous facade over the native jobs (docs/clients.md).

Each call maps its fields to a native request, runs it through :func:`server.compat.runner.run_job` (the same
policy, validation, queue, worker, safety, cache and storage) and answers ``{created, data}``. Errors on these
routes, and only these, are OpenAI's ``{"error": {message, type, param, code}}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from auth.principal import Principal
from models.registry import ModelRegistry
from schemas.compat.openai import (
    ImageData,
    ImageGenerationBody,
    ImagesResponse,
    ModelList,
    ModelObject,
    OutputFormat,
    ResponseFormat,
)
from schemas.errors import AppError, FieldError, NotFound, Problem, RequestInvalid
from schemas.models import ModelType
from schemas.requests import AnyRequest, Img2ImgRequest, InpaintRequest, Txt2ImgRequest
from server.compat.credentials import CompatGenerate, CompatReadModels
from server.compat.openai_map import (
    default_format,
    encode_output,
    encode_png,
    error_from_problem,
    invalid,
    is_partly_transparent,
    mask_from_alpha,
    open_upload,
    parse_size,
    resolve_model,
)
from server.compat.runner import ClientGone, Finished, JobFailed, Native, NativeDep, build_request, run_job

log = logging.getLogger(__name__)

EDIT_STRENGTH = 1.0  # a masked edit repaints the transparent area from scratch
RESTYLE_STRENGTH = 0.75  # an edit without a mask reworks the whole image
VARIATION_STRENGTH = 0.6
VARIATION_PROMPT = "a variation of the image, same subject and composition, high quality"
CLIENT_CLOSED = 499


class OpenAIRoute(APIRoute):
    """Renders this router's errors the OpenAI way; the rest of the app keeps problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                return _error(exc.to_problem(), exc.headers)
            except RequestValidationError as exc:
                errors = [FieldError(loc=list(e["loc"]), msg=e["msg"], type=e["type"]) for e in exc.errors()]
                return _error(RequestInvalid("invalid request", errors).to_problem(), {})
            except JobFailed as exc:
                return _error(exc.problem, {})
            except ClientGone:
                return Response(status_code=CLIENT_CLOSED)

        return guarded


def _error(problem: Problem, headers: dict[str, str]) -> JSONResponse:
    status, body = error_from_problem(problem)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers or None)


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


def _answer(
    finished: Finished, http: Request, response_format: str, output_format: OutputFormat, compression: int | None
) -> ImagesResponse:
    base = str(http.base_url).rstrip("/")
    if response_format == "url":
        data = [ImageData(url=base + image.url) for image in finished.view.images]
        output_format = "png"
    else:
        data = [ImageData(b64_json=encode_output(png, output_format, compression)) for png in finished.pngs]
    first = finished.view.images[0] if finished.view.images else None
    size = f"{first.width}x{first.height}" if first else None
    return ImagesResponse(created=int(time.time()), data=data, output_format=output_format, size=size)


def _common(model: str | None, size: str | None, n: int, aliases: dict[str, str]) -> dict[str, object]:
    fields: dict[str, object] = {"model": resolve_model(model, aliases), "batch_size": n}
    dimensions = parse_size(size)
    if dimensions is not None:
        fields["width"], fields["height"] = dimensions
    return fields


async def _run(
    native: AnyRequest,
    principal: Principal,
    jobs: Native,
    http: Request,
    *,
    model: str | None,
    response_format: ResponseFormat | None,
    output_format: OutputFormat,
    compression: int | None,
) -> ImagesResponse:
    finished = await run_job(native, principal, jobs, http)
    return _answer(finished, http, response_format or default_format(model), output_format, compression)


@router.post(
    "/images/generations",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    summary="OpenAI: create images from a prompt (waits for the job)",
)
async def generations(
    body: ImageGenerationBody, principal: CompatGenerate, jobs: NativeDep, http: Request
) -> ImagesResponse:
    fields = _common(body.model, body.size, body.n, jobs.settings.openai_model_aliases)
    fields |= {"prompt": body.prompt, "steps": jobs.settings.openai_steps}
    native = build_request(Txt2ImgRequest, fields)
    return await _run(
        native,
        principal,
        jobs,
        http,
        model=body.model,
        response_format=body.response_format,
        output_format=body.output_format,
        compression=body.output_compression,
    )


Text = Annotated[str | None, Form()]


def _first_image(image: UploadFile | None, images: list[UploadFile] | None) -> UploadFile:
    chosen = image or (images[0] if images else None)
    if chosen is None:
        raise invalid("image", "image is required (multipart field 'image' or 'image[]')")
    return chosen


@router.post(
    "/images/edits",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    summary="OpenAI: edit an image (transparent mask area = repaint; without a mask, the image's own transparency "
    "or, if opaque, img2img)",
)
async def edits(
    principal: CompatGenerate,
    jobs: NativeDep,
    http: Request,
    prompt: Annotated[str, Form(min_length=1, max_length=2000)],
    image: Annotated[UploadFile | None, File()] = None,
    images: Annotated[list[UploadFile] | None, File(alias="image[]")] = None,
    mask: Annotated[UploadFile | None, File()] = None,
    model: Text = None,
    n: Annotated[int, Form(ge=1, le=8)] = 1,
    size: Text = None,
    response_format: Annotated[ResponseFormat | None, Form()] = None,
    output_format: Annotated[OutputFormat, Form()] = "png",
    output_compression: Annotated[int | None, Form(ge=0, le=100)] = None,
    quality: Text = None,
    background: Text = None,
    user: Text = None,
) -> ImagesResponse:
    source = open_upload(await _first_image(image, images).read(), "image")
    fields = _common(model, size, n, jobs.settings.openai_model_aliases)
    fields |= {"prompt": prompt, "steps": jobs.settings.openai_steps}
    if mask is not None or is_partly_transparent(source):
        mask_image = open_upload(await mask.read(), "mask") if mask is not None else source
        fields |= {
            "image": encode_png(source.convert("RGB")),
            "mask": mask_from_alpha(mask_image, "mask"),
            "strength": EDIT_STRENGTH,
        }
        native: AnyRequest = build_request(InpaintRequest, fields)
    else:
        fields |= {"init_image": encode_png(source.convert("RGB")), "strength": RESTYLE_STRENGTH}
        native = build_request(Img2ImgRequest, fields)
    return await _run(
        native,
        principal,
        jobs,
        http,
        model=model,
        response_format=response_format,
        output_format=output_format,
        compression=output_compression,
    )


@router.post(
    "/images/variations",
    response_model=ImagesResponse,
    response_model_exclude_none=True,
    summary="OpenAI: variations of an image (img2img at strength 0.6 with a neutral prompt)",
)
async def variations(
    principal: CompatGenerate,
    jobs: NativeDep,
    http: Request,
    image: Annotated[UploadFile, File()],
    model: Text = None,
    n: Annotated[int, Form(ge=1, le=8)] = 1,
    size: Text = None,
    response_format: Annotated[ResponseFormat | None, Form()] = None,
    user: Text = None,
) -> ImagesResponse:
    source = open_upload(await image.read(), "image")
    fields = _common(model, size, n, jobs.settings.openai_model_aliases)
    fields |= {
        "prompt": VARIATION_PROMPT,
        "steps": jobs.settings.openai_steps,
        "init_image": encode_png(source.convert("RGB")),
        "strength": VARIATION_STRENGTH,
    }
    native = build_request(Img2ImgRequest, fields)
    return await _run(
        native,
        principal,
        jobs,
        http,
        model=model,
        response_format=response_format,
        output_format="png",
        compression=None,
    )


def _registry(http: Request) -> ModelRegistry:
    registry: ModelRegistry = http.app.state.registry
    return registry


def _model_objects(http: Request, aliases: dict[str, str]) -> list[ModelObject]:
    entries = [e for e in _registry(http).refresh() if e.type is ModelType.CHECKPOINT]
    created = {e.name: int(e.modified_at.timestamp()) if e.modified_at else 0 for e in entries}
    names = sorted(created) + sorted(a for a in aliases if a not in created)
    return [ModelObject(id=name, created=created.get(name, 0)) for name in names]


@router.get("/models", response_model=ModelList, summary="OpenAI: installed checkpoints and model aliases")
async def list_models(principal: CompatReadModels, jobs: NativeDep, http: Request) -> ModelList:
    return ModelList(data=_model_objects(http, jobs.settings.openai_model_aliases))


@router.get("/models/{model_id}", response_model=ModelObject, summary="OpenAI: one model")
async def get_model(model_id: str, principal: CompatReadModels, jobs: NativeDep, http: Request) -> ModelObject:
    for item in _model_objects(http, jobs.settings.openai_model_aliases):
        if item.id == model_id:
            return item
    raise NotFound(f"no model {model_id!r}")
