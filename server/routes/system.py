"""Health, readiness, version and queue overview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from auth.deps import CanReadMetrics
from schemas.errors import PROBLEM_TYPE_BASE, Problem
from schemas.version import VERSION
from server.deps import OwnerFilter, QueueDep, problem_responses
from server.metrics import render, summary
from server.problems import problem_response

router = APIRouter(tags=["system"])


@router.get("/api/health", summary="Liveness: the API process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/api/ready",
    summary="Readiness: Redis reachable and at least one worker heartbeat",
    responses=problem_responses(503),
)
async def ready(
    queue: QueueDep,
    workers: Annotated[
        bool,
        Query(
            description="false: ready as soon as Redis answers, with no worker alive (an API whose workers scale "
            "to zero while the queue is empty, e.g. KEDA: its readiness must not wait for a worker)."
        ),
    ] = True,
) -> Any:
    is_ready, reason = await run_in_threadpool(queue.readiness, workers)
    if not is_ready:
        return problem_response(
            Problem(
                type=PROBLEM_TYPE_BASE + "not_ready",
                title="Not ready",
                status=503,
                detail=reason,
                code="not_ready",
            )
        )
    return JSONResponse({"status": "ready", "detail": reason})


@router.get("/api/version", summary="Service and API version")
async def version() -> dict[str, str]:
    return {"name": "sdqueue", "version": VERSION, "api": "v1"}


@router.get("/api/v1/system", summary="Version, auth modes, queue counts, and each worker's device policy and models")
async def system(queue: QueueDep, owner: OwnerFilter) -> dict[str, Any]:
    view = await run_in_threadpool(queue.view, owner)
    return {
        "version": VERSION,
        "auth": sorted(queue.settings.auth_modes),
        "queue": view.counts,
        "workers": [w.model_dump() for w in view.workers],
        "storage": view.storage.model_dump(),
        "metrics": await run_in_threadpool(summary, queue),
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format): jobs, queue depth, generation seconds, models, cache, safety, GPU",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **problem_responses(401, 403, 503)},
)
async def metrics(queue: QueueDep, principal: CanReadMetrics) -> Response:
    body = await run_in_threadpool(render, queue)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
