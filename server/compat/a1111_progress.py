"""The AUTOMATIC1111 API's view of running work: ``progress`` (with the latest preview as ``current_image``),
``interrupt`` and ``skip``. A caller sees and stops its own running jobs; an admin everyone's."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from fastapi import APIRouter
from PIL import Image, UnidentifiedImageError
from redis import Redis
from starlette.concurrency import run_in_threadpool

from auth.principal import Principal
from schemas.errors import NotFound
from schemas.jobs import JobStatus, JobView
from schemas.keys import Event, events_key
from server.compat.a1111_map import stamp
from server.compat.credentials import CompatGenerate, CompatReadJobs
from server.compat.runner import Native, NativeDep
from server.images import DATA_URL

router = APIRouter(prefix="/sdapi/v1", tags=["automatic1111"])

EVENTS_SCANNED = 64  # the latest events searched for a preview (a preview every N steps, progress between)


def _activity(jobs: Native, principal: Principal) -> tuple[list[JobView], int]:
    """The caller's running jobs (admins: everyone's), from the workers' current jobs, and how many are queued."""
    owner = None if principal.is_admin else principal.name
    state = jobs.queue.view(owner)
    running = []
    for worker in state.workers:
        if worker.current_job is None:
            continue
        try:
            view = jobs.views.view(worker.current_job)
        except NotFound:  # a model operation, or a job that just ended and expired
            continue
        if view.status is JobStatus.STARTED and owner in (None, view.owner):
            running.append(view)
    return running, len(state.jobs)


def latest_preview(redis: Redis, job_id: str) -> str | None:
    """The job's latest preview (a data URL in its event stream) as a bare base64 PNG, as A1111 answers it."""
    entries: list[tuple[Any, dict[bytes, bytes]]] = redis.xrevrange(events_key(job_id), count=EVENTS_SCANNED) or []  # type: ignore[assignment]
    for _, entry in entries:
        if entry.get(b"event") != Event.PREVIEW.value.encode():
            continue
        url = json.loads(entry.get(b"data", b"{}")).get("image")
        if not isinstance(url, str):
            return None
        try:
            image = Image.open(io.BytesIO(base64.b64decode(DATA_URL.sub("", url, count=1))))
            out = io.BytesIO()
            image.save(out, format="PNG")
        except (UnidentifiedImageError, OSError, ValueError):
            return None
        return base64.b64encode(out.getvalue()).decode()
    return None


@router.get("/progress", summary="A1111: progress of your running job (admins: anyone's), with its latest preview")
async def progress(principal: CompatReadJobs, jobs: NativeDep) -> dict[str, Any]:
    running, queued = await run_in_threadpool(_activity, jobs, principal)
    job = running[0] if running else None
    step, total = (job.progress.step, job.progress.total) if job else (0, 0)
    preview = await run_in_threadpool(latest_preview, jobs.redis, job.id) if job else None
    return {
        "progress": step / total if total else 0.0,
        "eta_relative": (job.progress.eta_seconds or 0.0) if job else 0.0,
        "state": {
            "skipped": False,
            "interrupted": False,
            "job": job.id if job else "",
            "job_count": len(running) + queued,
            "job_timestamp": stamp(job.timings.submitted_at) if job else "0",
            "job_no": 0,
            "sampling_step": step,
            "sampling_steps": total,
        },
        "current_image": preview,
        "textinfo": None,
    }


async def _cancel_running(jobs: Native, principal: Principal) -> None:
    running, _ = await run_in_threadpool(_activity, jobs, principal)
    for view in running:
        job = await run_in_threadpool(jobs.views.fetch, view.id)
        await run_in_threadpool(jobs.queue.cancel, job)


@router.post("/interrupt", summary="A1111: stop your running jobs (admins: every running job)")
async def interrupt(principal: CompatGenerate, jobs: NativeDep) -> dict[str, Any]:
    await _cancel_running(jobs, principal)
    return {}


@router.post(
    "/skip", summary="A1111: skip the running image; a batch is one sdqueue job, so this stops it as interrupt"
)
async def skip(principal: CompatGenerate, jobs: NativeDep) -> dict[str, Any]:
    await _cancel_running(jobs, principal)
    return {}
