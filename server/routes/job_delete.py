"""Delete an ended job of mine with its images: ``DELETE /api/v1/jobs/{job_id}/images`` (the gallery's Delete).

``DELETE /api/v1/jobs/{job_id}`` already means cancel (kept for clients that use it so), so deleting the result
has its own path. The job record, its output folder (images, thumbnails), its prepared inputs, its progress and
events and its entries in the job indexes (the global one and its owner's) go, as when retention deletes it; the
result cache keeps its own copies (hard links), so a cached request still answers.
"""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Response
from redis import Redis
from rq.job import Job
from starlette.concurrency import run_in_threadpool

from auth.deps import CanGenerate
from schemas.errors import RequestInvalid
from schemas.keys import cancel_key, events_key, progress_key
from schemas.settings import Settings
from server.deps import OwnedJob, RedisDep, SettingsDep, problem_responses
from server.queue import job_status
from store.job_index import remove_job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def delete_ended_job(redis: Redis, settings: Settings, job: Job) -> None:
    """Every trace of an ended job; RequestInvalid naming ``job_id`` while it is queued or running."""
    status = job_status(job)
    if not status.is_terminal:
        raise RequestInvalid.for_field(
            ["path", "job_id"], f"the job is {status.value}: cancel it first, then delete it"
        )
    job.delete(remove_from_queue=True)
    shutil.rmtree(settings.outputs_dir / job.id, ignore_errors=True)
    shutil.rmtree(settings.data_dir / "inputs" / job.id, ignore_errors=True)
    redis.delete(progress_key(job.id), events_key(job.id), cancel_key(job.id))
    remove_job(redis, settings.queue_name, job.id)


@router.delete(
    "/{job_id}/images",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="Delete an ended job with its images (yours; admins: any)",
    description=(
        "The job, its images and thumbnails, and its records go at once (204); afterwards the job is a 404. A queued "
        "or running job is refused (422 naming `job_id`): cancel it first. Another user's job is a 404."
    ),
)
async def delete_job_images(job: OwnedJob, principal: CanGenerate, redis: RedisDep, settings: SettingsDep) -> Response:
    await run_in_threadpool(delete_ended_job, redis, settings, job)
    return Response(status_code=204)
