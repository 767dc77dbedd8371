"""``POST /api/v1/watermark/check``: does an image carry this server's invisible watermark?

The decoder (invisible-watermark) imports torch, which the API never does, so the worker reads the mark as a
high-priority control operation; the answer waits for it a few seconds.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from auth.deps import CanGenerate
from schemas.models import ModelOperation
from server.deps import JobsDep, problem_responses

router = APIRouter(prefix="/api/v1", tags=["watermark"])
WAIT_SECONDS = 15.0


@router.post(
    "/watermark/check",
    response_model=ModelOperation,
    responses={202: {"model": ModelOperation}, **problem_responses(401, 403, 413, 422, 503)},
    summary="Read the invisible watermark of an image (multipart field 'file')",
    description=(
        "The worker decodes the image (DWT-DCT, invisible-watermark). 200 with `result` = `{watermarked, payload, "
        "expected, detail}` when it answers within 15 s; else 202 and the operation to poll at `links.self` (the "
        "worker finishes its current job first). Images smaller than 256x256 cannot carry the mark."
    ),
)
async def check_watermark(
    file: UploadFile, principal: CanGenerate, jobs: JobsDep, response: Response
) -> ModelOperation:
    upload = await run_in_threadpool(jobs.inputs.save_upload, await file.read(), principal.name)
    operation = await run_in_threadpool(jobs.enqueue_model_operation, "watermark_check", "", upload=str(upload["id"]))
    operation = await run_in_threadpool(jobs.wait_operation, operation.id, WAIT_SECONDS)
    if operation.status not in ("finished", "failed"):
        response.status_code = 202
    return operation
