"""Read jobs and download their images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from schemas.jobs import JobView
from server.deps import JobsDep, problem_responses

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

ImageIndex = Annotated[int, Path(ge=0, le=1023, description="Image index within the job (0-based).")]


@router.get(
    "/{job_id}",
    response_model=JobView,
    responses=problem_responses(404, 503),
    summary="Status, progress, timings, error or images of a job",
)
async def get_job(job_id: str, jobs: JobsDep) -> JobView:
    return await run_in_threadpool(jobs.view, job_id)


@router.get(
    "/{job_id}/images/{index}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422, 503)},
    summary="Full-size PNG (with the A1111 'parameters' text chunk)",
)
async def get_image(job_id: str, index: ImageIndex, jobs: JobsDep) -> FileResponse:
    path = await run_in_threadpool(jobs.image_path, job_id, index, thumbnail=False)
    return FileResponse(path, media_type="image/png", filename=f"{job_id}-{index}.png")


@router.get(
    "/{job_id}/images/{index}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}, **problem_responses(404, 422, 503)},
    summary="WebP thumbnail (longest side = the thumbnail_size setting)",
)
async def get_thumbnail(job_id: str, index: ImageIndex, jobs: JobsDep) -> FileResponse:
    path = await run_in_threadpool(jobs.image_path, job_id, index, thumbnail=True)
    return FileResponse(path, media_type="image/webp")
