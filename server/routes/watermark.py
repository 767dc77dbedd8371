"""``POST /api/v1/watermark/check``: does an image carry this server's invisible watermark?

The worker reads the mark as a control operation (``server.operations``); the answer waits for it a few seconds.
Its place in the queue is bounded rather than first: a check joins the end of the high-priority queue (ahead of
normal and low jobs, behind high-priority jobs and other checks already queued), so a burst of checks cannot hold
back what was queued before it, while a check still does not wait for the normal queue. Each principal may send
SDQ_WATERMARK_CHECKS_PER_MINUTE checks a minute and have SDQ_MAX_WATERMARK_CHECKS_PER_USER queued or running at once
(429 with Retry-After), and the uploaded image counts towards the upload quota (413). Model loads and unloads (admins)
still go to the front.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from schemas.models import ModelOperation
from server.deps import InputsDep, OperationsDep, problem_responses
from server.policy import CanCheckWatermark, UploadQuotaDep

router = APIRouter(prefix="/api/v1", tags=["watermark"])
WAIT_SECONDS = 15.0


@router.post(
    "/watermark/check",
    response_model=ModelOperation,
    responses={202: {"model": ModelOperation}, **problem_responses(401, 403, 413, 422, 429, 503)},
    summary="Read the invisible watermark of an image (multipart field 'file')",
    description=(
        "The worker decodes the image (DWT-DCT, invisible-watermark). 200 with `result` = `{watermarked, payload, "
        "expected, detail}` when it answers within 15 s; else 202 and the operation to poll at `links.self`. The "
        "check joins the end of the high-priority queue (the worker finishes its current job and any high-priority "
        "job queued before it first). Per principal: SDQ_WATERMARK_CHECKS_PER_MINUTE a minute and "
        "SDQ_MAX_WATERMARK_CHECKS_PER_USER pending (429); the image counts towards the upload quota (413). Images "
        "smaller than 256x256 cannot carry the mark."
    ),
)
async def check_watermark(
    file: UploadFile,
    principal: CanCheckWatermark,
    quota: UploadQuotaDep,
    inputs: InputsDep,
    operations: OperationsDep,
    response: Response,
) -> ModelOperation:
    upload = await run_in_threadpool(inputs.save_upload, await file.read(), principal.name, "file", quota)
    operation = await run_in_threadpool(operations.enqueue_watermark_check, str(upload["id"]), principal.name)
    operation = await run_in_threadpool(operations.wait, operation.id, WAIT_SECONDS)
    if operation.status not in ("finished", "failed"):
        response.status_code = 202
    return operation
