"""Read, list, stream and cancel jobs; download their images."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from auth.deps import CanGenerate
from schemas.jobs import CancelResult, JobPage, JobStatus, JobView
from server.deps import AsyncRedisDep, OwnedJob, OwnerFilter, QueueDep, ViewableJob, ViewsDep, problem_responses
from server.events import job_events
from server.policy import EventStreamSlot

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

ImageIndex = Annotated[int, Path(ge=0, le=1023, description="Image index within the job (0-based).")]


@router.get("", response_model=JobPage, responses=problem_responses(422, 503), summary="List jobs, newest first")
async def list_jobs(
    jobs: ViewsDep,
    owner: OwnerFilter,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status.")] = None,
    mode: Annotated[str | None, Query(description="Only jobs of this mode, e.g. txt2img.")] = None,
    since: Annotated[datetime | None, Query(description="Only jobs submitted at or after (ISO 8601).")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobPage:
    return await run_in_threadpool(jobs.list_jobs, owner, status, mode, since, page, limit)


@router.get(
    "/{job_id}",
    response_model=JobView,
    responses=problem_responses(404, 503),
    summary="Status, progress (with eta), timings, error or images of a job",
)
async def get_job(job: OwnedJob, jobs: ViewsDep) -> JobView:
    return await run_in_threadpool(jobs.build_view, job)


@router.get(
    "/{job_id}/events",
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404, 429, 503)},
    summary="Server-Sent Events: queued, started, progress, preview, then finished | failed | canceled",
    description=(
        "Event ids are resumable: reconnect with `Last-Event-ID` to get only later events. `queued` carries "
        "`position` (sent again when it changes), `progress` carries `step, total, stage, its, eta_seconds`, "
        "`preview` a small data-URL image every N steps (setting `SDQ_PREVIEW_EVERY`), `requeued` tells that the "
        "job went back to its queue. The terminal event's data is the same body as `GET /api/v1/jobs/{id}`; a "
        "client connecting after the end gets it at once. With authentication on, a principal may have "
        "SDQ_MAX_EVENT_STREAMS_PER_USER streams open at once (429 with Retry-After beyond)."
    ),
)
async def stream_events(
    job: OwnedJob,
    slot: EventStreamSlot,
    jobs: ViewsDep,
    aredis: AsyncRedisDep,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> EventSourceResponse:
    return EventSourceResponse(job_events(jobs, aredis, job.id, last_event_id, slot), ping=15)


async def _cancel(job: OwnedJob, queue: QueueDep, response: Response) -> CancelResult:
    result = await run_in_threadpool(queue.cancel, job)
    if result.status is JobStatus.STARTED:
        response.status_code = 202
    return result


_CANCEL_DOC = dict(
    response_model=CancelResult,
    responses={
        202: {"model": CancelResult, "description": "Running: stops at its next step"},
        **problem_responses(404, 503),
    },
    description=(
        "A queued job leaves the queue at once (200, `canceled`). A running job stops at its next denoising step "
        "and ends `canceled` without images (202; watch the job). An ended job is left as it is (200, its status)."
    ),
)


@router.post("/{job_id}/cancel", summary="Cancel a job", **_CANCEL_DOC)  # type: ignore[arg-type]
async def cancel_job(job: OwnedJob, principal: CanGenerate, queue: QueueDep, response: Response) -> CancelResult:
    return await _cancel(job, queue, response)


@router.delete("/{job_id}", summary="Cancel a job (same as POST .../cancel)", **_CANCEL_DOC)  # type: ignore[arg-type]
async def delete_job(job: OwnedJob, principal: CanGenerate, queue: QueueDep, response: Response) -> CancelResult:
    return await _cancel(job, queue, response)


@router.get(
    "/{job_id}/images/{index}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422, 503)},
    summary="Full-size PNG (with the A1111 'parameters' text chunk)",
)
async def get_image(job: ViewableJob, index: ImageIndex, jobs: ViewsDep) -> FileResponse:
    path = await run_in_threadpool(jobs.image_path, job, index, thumbnail=False)
    return FileResponse(path, media_type="image/png", filename=f"{job.id}-{index}.png")


@router.get(
    "/{job_id}/images/{index}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}, **problem_responses(404, 422, 503)},
    summary="WebP thumbnail (longest side = the thumbnail_size setting)",
)
async def get_thumbnail(job: ViewableJob, index: ImageIndex, jobs: ViewsDep) -> FileResponse:
    path = await run_in_threadpool(jobs.image_path, job, index, thumbnail=True)
    return FileResponse(path, media_type="image/webp")
