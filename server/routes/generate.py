"""Submit generation jobs. Each route validates, checks the caller's limits, enqueues and answers 202."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from auth.deps import AuthDep, CanGenerate
from schemas.generation import Txt2ImgRequest
from schemas.jobs import JobAccepted
from server.deps import JobsDep, problem_responses
from server.policy import enforce_submit_policy

router = APIRouter(prefix="/api/v1/generate", tags=["generate"])


@router.post(
    "/txt2img",
    status_code=202,
    response_model=JobAccepted,
    responses=problem_responses(401, 403, 422, 429, 503),
    summary="Queue a text-to-image job",
    description=(
        "Validates the request (unknown fields and out-of-range values are refused with 422 problem details "
        "naming the field; an unknown model is refused here, not in the worker), queues it and answers at once. "
        "Poll `links.self` until `status` is finished, failed or canceled, or follow `.../events`."
    ),
)
async def txt2img(
    request: Txt2ImgRequest, principal: CanGenerate, auth: AuthDep, jobs: JobsDep, response: Response
) -> JobAccepted:
    await run_in_threadpool(enforce_submit_policy, request, principal, auth, jobs)
    accepted = await run_in_threadpool(jobs.submit, request, principal.name)
    response.headers["Location"] = accepted.links["self"]
    return accepted
