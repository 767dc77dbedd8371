"""Upscale jobs (``mode: upscale``) and the model upscaler of a txt2img hires fix, run by the worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from models.modes import handler_for
from models.upscale import upscale_image
from schemas.jobs import JobPayload, JobResult, input_image_path
from schemas.models import ModelType
from schemas.requests import AnyRequest, UpscaleRequest, is_resampler
from schemas.version import VERSION
from store.upscaler_factors import record_factor
from worker import runtime
from worker.outputs import Outputs, save_job
from worker.reporter import JobReporter

Resize = Callable[[Image.Image, tuple[int, int]], Image.Image]


def run_upscale(
    context: runtime.WorkerContext, payload: JobPayload, request: UpscaleRequest, reporter: JobReporter
) -> JobResult:
    """Upscale the job's input image; progress counts tiles, and a cancel stops at the next tile."""
    settings = context.settings
    started = time.perf_counter()
    reporter.stage("loading", 0, 1)
    descriptor = None if is_resampler(request.upscaler) else load_model(context, request.upscaler, "upscaler")
    loaded = time.perf_counter()
    reporter.check_stop()
    with Image.open(input_image_path(settings.data_dir, payload.job_id, "image")) as source:
        image = source.convert("RGB")
    size = request.output_size(image.width, image.height)
    reporter.stage("upscaling", 0, 1)
    tiles = [1]

    def on_tile(done: int, total: int) -> None:
        tiles[0] = total
        reporter.step(done, total)

    tile_size = request.tile_size or settings.upscale_tile_size
    result = upscale_image(
        image,
        size,
        request.upscaler,
        descriptor,
        tile_size,
        settings.upscale_tile_padding,
        on_tile,
        max_pixels=settings.max_upscale_pixels,
    )
    generated = time.perf_counter()
    reporter.check_stop()
    reporter.stage("saving", tiles[0], tiles[0])
    text = (
        f"Postprocess upscale by: {request.scale:g}, Postprocess upscaler: {request.upscaler}, "
        f"Size: {size[0]}x{size[1]}, Version: sdqueue {VERSION}"
    )
    return save_job(
        settings.outputs_dir / payload.job_id,
        payload,
        Outputs([result], [], [text]),
        settings.thumbnail_size,
        context.manager.policy.describe(),
        (started, loaded, generated),
    )


def load_model(context: runtime.WorkerContext, name: str, field: str) -> Any:
    """The upscaler model ``name`` (ModelNotFound naming ``field``); its factor is recorded for the API's checks."""
    descriptor = context.manager.get_upscaler(name, field)
    entry = context.manager.registry.find(ModelType.UPSCALER, name, field)
    record_factor(context.redis, entry, int(descriptor.scale))
    return descriptor


def hires_upscaler(context: runtime.WorkerContext, request: AnyRequest) -> Resize | None:
    """The hires fix's model upscaler as a resize function; None for a resampler or without hires fix."""
    plan = handler_for(request).hires(request)
    if plan is None or is_resampler(plan.upscaler):
        return None
    descriptor = load_model(context, plan.upscaler, "hr_upscaler")
    settings = context.settings

    def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
        return upscale_image(
            image,
            size,
            plan.upscaler,
            descriptor,
            settings.upscale_tile_size,
            settings.upscale_tile_padding,
            max_pixels=settings.max_upscale_pixels,
            fields=("hr_upscaler", "hr_scale"),
        )

    return resize
