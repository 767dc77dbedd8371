"""``run_job``: the function the API enqueues (by dotted path) and the worker runs in-process.

It is the worker's one catch-all boundary. A failure becomes problem details on the job
(``meta['error']``) and is re-raised, so RQ marks the job ``failed`` and the worker takes the next one.
A cancel or an abort is re-raised too, with ``meta['outcome']`` telling :class:`worker.main.SdqWorker`
to end the job ``canceled`` or to put it back in its queue instead. No partial output is ever left.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rq import get_current_job
from rq.timeouts import JobTimeoutException

from models.generate import LoraFile, RunOptions, run_generation
from models.modes import handler_for
from schemas.errors import AppError, GenerationFailed, JobTimedOut
from schemas.jobs import JobPayload, JobResult, input_image_path, upload_image_path
from schemas.keys import Event
from schemas.models import ModelType
from schemas.requests import (
    SEED_MAX,
    AnyRequest,
    ControlNetRequest,
    Txt2ImgRequest,
    UpscaleRequest,
    batch_seeds,
    mentions,
)
from schemas.version import VERSION
from store.stepstats import StepStats, record_step_stats
from worker import runtime
from worker.caching import run_cached
from worker.outputs import Outputs, infotext, save_job
from worker.postprocess import watermark
from worker.reporter import JobCanceled, JobReporter, WorkerAborting
from worker.transitions import record_error
from worker.upscaling import hires_upscaler, run_upscale

log = logging.getLogger(__name__)


def run_job(payload_data: dict[str, Any]) -> dict[str, Any]:
    """Generate the images of one job and return its :class:`JobResult` as a JSON-able dict."""
    context = runtime.current()
    payload = JobPayload.model_validate(payload_data)
    job = get_current_job()
    folder = context.settings.outputs_dir / payload.job_id
    reporter = JobReporter(
        context.redis, payload.job_id, context.settings.retention_seconds, lambda: context.abort_requested
    )
    try:
        retries = job.meta.get("retries", 0) if job is not None else 0
        reporter.publish(Event.STARTED, {"worker": context.worker_name, "retries": retries})
        reporter.check_stop()
        request = payload.request

        def produce() -> JobResult:
            if isinstance(request, UpscaleRequest):
                return run_upscale(context, payload, request, reporter)
            return _generate(context, payload, request, reporter)

        result = run_cached(context, payload, reporter, produce) if payload.cache_key else produce()
    except (JobCanceled, WorkerAborting) as stop:
        log.info("job %s stopped: %s", payload.job_id, stop)
        if job is not None:
            job.meta["outcome"] = "canceled" if isinstance(stop, JobCanceled) else "requeue"
        if isinstance(stop, JobCanceled):
            context.metrics.count("jobs", mode=payload.request.mode, status="canceled")
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except Exception as exc:
        error = _as_app_error(exc, job)
        log.warning("job %s failed: %s", payload.job_id, error.detail)
        if job is not None:
            record_error(job, error)
        context.metrics.count("jobs", mode=payload.request.mode, status="failed")
        shutil.rmtree(folder, ignore_errors=True)  # publish no partial output
        raise
    if not isinstance(payload.request, UpscaleRequest) and not result.cached:
        _record_step_time(context, payload.model, payload.request, result)
    _record_metrics(context, payload, result)
    return result.model_dump(mode="json")


def _record_metrics(context: runtime.WorkerContext, payload: JobPayload, result: JobResult) -> None:
    mode, images = payload.request.mode, max(1, len(result.images))
    metrics = context.metrics
    metrics.count("jobs", mode=mode, status="finished")
    if result.cached:
        return  # nothing was generated
    seconds = result.timings.generate_seconds
    for _ in range(images):
        metrics.observe("generation_seconds", seconds / images, mode=mode, model=payload.model)
    if not isinstance(payload.request, UpscaleRequest):
        metrics.count("denoise_steps", payload.request.steps * images, model=payload.model)
        metrics.count("denoise_seconds", seconds, model=payload.model)


def _as_app_error(exc: Exception, job: Any) -> AppError:
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, JobTimeoutException):
        limit = getattr(job, "timeout", None)
        return JobTimedOut(f"the job ran longer than its time limit ({limit} s) and was stopped")
    return GenerationFailed(f"{type(exc).__name__}: {exc}")


def _generate(
    context: runtime.WorkerContext, payload: JobPayload, request: AnyRequest, reporter: JobReporter
) -> JobResult:
    report, request = context.safety.check_prompts(payload.safety, request, context.metrics)
    seed = secrets.randbelow(SEED_MAX + 1) if request.seed == -1 else request.seed
    prompts = request.prompt_list() if isinstance(request, Txt2ImgRequest) else [request.prompt]
    seeds = batch_seeds(seed, request.batch_size * len(prompts))  # a prompt batch continues the seeds

    started = time.perf_counter()
    reporter.stage("loading", 0, request.steps)
    pipeline = context.manager.get(payload.model)
    options = _run_options(context, request, reporter)
    loaded = time.perf_counter()
    reporter.check_stop()

    images: list[Any] = []
    texts: list[str] = []
    inputs = _input_images(context, payload)
    embeddings = _installed_embeddings(context)  # one scan of the folders per job, not per prompt
    for index, prompt in enumerate(prompts):
        part = request if len(prompts) == 1 else request.model_copy(update={"prompt": prompt, "prompts": []})
        part_seeds = seeds[index * request.batch_size : (index + 1) * request.batch_size]
        reporter.stage("denoising", 0, request.steps)
        part_options = replace(options, loras=_lora_files(context, part), embeddings=_embeddings_in(embeddings, part))
        images += run_generation(pipeline, part, part_seeds, reporter.step, inputs, part_options)
        texts += [infotext(part, s, payload.model, VERSION) for s in part_seeds]
    images, nsfw = context.safety.check_images(report, images, context.metrics)
    images, marks = watermark(context.settings, request, images)
    marks = [{**mark, "nsfw": flagged} for mark, flagged in zip(marks, nsfw, strict=True)]
    generated = time.perf_counter()
    reporter.check_stop()

    reporter.stage("saving", request.steps, request.steps)
    return save_job(
        context.settings.outputs_dir / payload.job_id,
        payload,
        Outputs(images, seeds, texts, request.batch_size, marks, report),
        context.settings.thumbnail_size,
        context.manager.policy.describe(),
        (started, loaded, generated),
    )


def _run_options(context: runtime.WorkerContext, request: AnyRequest, reporter: JobReporter) -> RunOptions:
    """The job's VAE, ControlNets and hires upscaler (loaded now), and its previews."""
    return RunOptions(
        vae=context.manager.get_vae(request.vae) if request.vae else None,
        controlnets=[context.manager.get_controlnet(unit.controlnet) for unit in request.controlnets]
        if isinstance(request, ControlNetRequest)
        else None,
        hires_upscale=hires_upscaler(context, request),
        on_preview=lambda step, latents: reporter.preview(step, context.previews.data_url(latents)),
        preview_every=context.preview_every,
    )


def _input_images(context: runtime.WorkerContext, payload: JobPayload) -> dict[str, Any]:
    """The prepared input images the API wrote for this job (RGB; masks grey), as its mode's handler names them."""
    from PIL import Image

    handler = handler_for(payload.request)
    images = {}
    for field in handler.input_files:
        path = input_image_path(context.settings.data_dir, payload.job_id, field)
        if path.is_file():  # optional fields (change_map) exist only when given
            with Image.open(path) as image:
                images[field] = image.convert("L" if field in handler.grey_files else "RGB")
    return images


def _lora_files(context: runtime.WorkerContext, request: AnyRequest) -> list[LoraFile]:
    registry = context.manager.registry
    _, loras = request.all_loras()
    return [
        LoraFile(lora.name, registry.models_dir / registry.find(ModelType.LORA, lora.name, "loras").path, lora.weight)
        for lora in loras
    ]


def _installed_embeddings(context: runtime.WorkerContext) -> list[tuple[str, Path]]:
    registry = context.manager.registry
    return [
        (entry.name, registry.models_dir / entry.path)
        for entry in registry.refresh()
        if entry.type is ModelType.EMBEDDING and entry.status == "valid"
    ]


def _embeddings_in(installed: list[tuple[str, Path]], request: AnyRequest) -> list[tuple[str, Path]]:
    """Embeddings whose file name appears as a word in the prompt or negative prompt (A1111 convention)."""
    text = f"{request.prompt} {request.negative_prompt}"
    return [(name, path) for name, path in installed if mentions(name, text)]


def _record_step_time(context: runtime.WorkerContext, model: str, request: AnyRequest, result: JobResult) -> None:
    """Keep a smoothed seconds-per-step-per-image for this model and size (used by /api/v1/estimate)."""
    images = len(result.images)
    units = request.steps * images
    measured = StepStats(
        s_per_step=result.timings.generate_seconds / units,
        overhead_s=(result.timings.save_seconds / images) + result.timings.load_seconds,
    )
    try:
        record_step_stats(context.redis, model, f"{request.width}x{request.height}", measured)
    except Exception:  # statistics are best effort; never fail a finished job over them
        log.warning("could not record step time for model %s", model, exc_info=True)


def control_job(data: dict[str, Any]) -> dict[str, Any]:
    """Load or unload a model on this worker (``POST /api/v1/models/{id}/load|unload``), or read an uploaded
    image's invisible watermark (``POST /api/v1/watermark/check``: the decoder needs torch, the API has none)."""
    context = runtime.current()
    manager = context.manager
    started = time.perf_counter()
    if data["action"] == "watermark_check":
        return _check_watermark(context, data["upload"])
    if data["action"] == "load":
        manager.get(data["model"])
        done = {"loaded": data["model"]}
    else:
        done = {"unloaded": manager.unload(data["model"])}
    return {**done, "seconds": round(time.perf_counter() - started, 4), "resident": manager.loaded}


def _check_watermark(context: runtime.WorkerContext, upload_id: str) -> dict[str, Any]:
    from PIL import Image

    from models.watermark import check_invisible

    path = upload_image_path(context.settings.data_dir, upload_id)
    with Image.open(path) as image:
        check = check_invisible(image.convert("RGB"), context.settings.invisible_watermark_payload)
    path.unlink(missing_ok=True)  # the image was uploaded only to be checked
    return check.model_dump()
