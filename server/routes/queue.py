"""The queue: overview, clearing, and the request helpers that do not enqueue (validate, estimate, parameters)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from auth.deps import CanReadModels, QueueAdmin
from schemas.jobs import ClearResult, Estimate, QueueView, Validation
from schemas.requests import GenerationRequest, JobRequest, UpscaleRequest
from server.deps import OwnerFilter, QueueDep, RedisDep, RegistryDep, SettingsDep, SubmitsDep, problem_responses
from server.estimates import estimate, parameters, with_wait
from server.policy import CanValidate

router = APIRouter(prefix="/api/v1", tags=["queue"])


@router.get(
    "/queue",
    response_model=QueueView,
    responses=problem_responses(503),
    summary="Counts per status, live workers, queued jobs in order, disk usage",
)
async def queue(queue: QueueDep, owner: OwnerFilter) -> QueueView:
    return await run_in_threadpool(queue.view, owner)


@router.post(
    "/queue/clear",
    response_model=ClearResult,
    responses=problem_responses(503),
    summary="Cancel every queued job",
)
async def clear_queue(queue: QueueDep, principal: QueueAdmin) -> ClearResult:
    return ClearResult(canceled=await run_in_threadpool(queue.clear))


@router.post(
    "/validate",
    response_model=Validation,
    responses=problem_responses(422, 429),
    summary="Run every check a submit runs, without queueing",
    description="Shares SDQ_VALIDATIONS_PER_MINUTE with /estimate (it may fetch image URLs): 429 with Retry-After.",
)
async def validate(request: JobRequest, submits: SubmitsDep, principal: CanValidate) -> Validation:
    return await run_in_threadpool(submits.validate, request, principal)


@router.post(
    "/estimate",
    response_model=Estimate,
    responses=problem_responses(422, 429, 503),
    summary="Expected run time from measured step times of that model, and the wait given the jobs ahead and the "
    "live workers (null when there is no data)",
    description="Shares SDQ_VALIDATIONS_PER_MINUTE with /validate: 429 with Retry-After.",
)
async def estimate_request(
    request: GenerationRequest, submits: SubmitsDep, redis: RedisDep, queue: QueueDep, principal: CanValidate
) -> Estimate:
    checked = await run_in_threadpool(submits.validate, request, principal)
    fitted = checked.request  # with the model family's defaults (a Flux schnell job's 4 steps) and the input's size
    run = await run_in_threadpool(
        estimate, redis, fitted if not isinstance(fitted, UpscaleRequest) else request, checked.model
    )
    return await run_in_threadpool(with_wait, run, queue, request.priority)


@router.get("/parameters", summary="Every request field with limits and defaults (JSON Schema), and the choices")
async def get_parameters(settings: SettingsDep, registry: RegistryDep, principal: CanReadModels) -> dict[str, Any]:
    return await run_in_threadpool(parameters, settings, registry)
