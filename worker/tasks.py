"""``run_job``: the function the API enqueues (by dotted path) and the worker runs in-process.

It is the worker's one catch-all boundary: any exception becomes a problem-details body stored on the
job (``meta['error']``) and is re-raised, so RQ marks the job ``failed`` and the worker takes the next.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from models.txt2img import run_txt2img
from schemas.errors import AppError, GenerationFailed
from schemas.generation import SEED_MAX, batch_seeds
from schemas.jobs import JobPayload, JobResult, WorkerTimings
from schemas.version import VERSION
from worker import runtime
from worker.outputs import infotext, write_images, write_job_json
from worker.progress import ProgressReporter

log = logging.getLogger(__name__)


def run_job(payload_data: dict[str, Any]) -> dict[str, Any]:
    """Generate the images of one job and return its :class:`JobResult` as a JSON-able dict."""
    context = runtime.current()
    payload = JobPayload.model_validate(payload_data)
    folder = context.settings.outputs_dir / payload.job_id
    progress = ProgressReporter(context.redis, payload.job_id, context.settings.result_ttl)
    context.current_job = payload.job_id
    try:
        return _generate(context, payload, progress).model_dump(mode="json")
    except Exception as exc:
        error = exc if isinstance(exc, AppError) else GenerationFailed(f"{type(exc).__name__}: {exc}")
        log.warning("job %s failed: %s", payload.job_id, error.detail)
        _record_error(error)
        shutil.rmtree(folder, ignore_errors=True)  # publish no partial output
        raise
    finally:
        context.current_job = None


def _record_error(error: AppError) -> None:
    job = get_current_job()
    if job is not None:
        job.meta["error"] = error.to_problem().model_dump(mode="json")
        job.save_meta()


def _generate(context: runtime.WorkerContext, payload: JobPayload, progress: ProgressReporter) -> JobResult:
    request = payload.request
    seed = secrets.randbelow(SEED_MAX + 1) if request.seed == -1 else request.seed
    seeds = batch_seeds(seed, request.batch_size)

    started = time.perf_counter()
    progress.stage("loading", 0, request.steps)
    pipeline = context.manager.get(payload.model)
    loaded = time.perf_counter()

    progress.stage("denoising", 0, request.steps)
    images = run_txt2img(pipeline, request, seeds, progress.step)
    generated = time.perf_counter()

    progress.stage("saving", request.steps, request.steps)
    folder = context.settings.outputs_dir / payload.job_id
    texts = [infotext(request, s, payload.model, VERSION) for s in seeds]
    records = write_images(folder, images, seeds, texts, context.settings.thumbnail_size)
    timings = WorkerTimings(
        load_seconds=round(loaded - started, 4),
        generate_seconds=round(generated - loaded, 4),
        save_seconds=round(time.perf_counter() - generated, 4),
    )
    result = JobResult(
        images=records,
        seeds=seeds,
        model=payload.model,
        device=context.manager.policy.describe(),
        timings=timings,
    )
    write_job_json(
        folder,
        {
            "id": payload.job_id,
            "status": "finished",
            "owner": payload.owner,
            "model": payload.model,
            "request": payload.request.model_dump(mode="json"),
            "submitted_at": payload.submitted_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            **result.model_dump(mode="json"),
        },
    )
    return result
