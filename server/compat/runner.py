"""Run a native job to its end for the synchronous drop-in APIs: submit (with the same policy, validation, queue,
safety and cache as the native routes), wait, read the PNGs.

    JobFailed       the job failed, or the wait ran out (its problem details say which)
    ClientGone      the caller hung up while waiting: the job was canceled
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request
from pydantic import ValidationError
from redis import Redis
from starlette.concurrency import run_in_threadpool

from auth.principal import Principal
from schemas.errors import PROBLEM_TYPE_BASE, FieldError, Problem, RequestInvalid
from schemas.jobs import JobStatus, JobView
from schemas.requests import AnyJobRequest
from schemas.settings import Settings
from server.deps import QueueDep, SubmitsDep, ViewsDep
from server.queue import QueueState
from server.submit import SubmitService
from server.views import JobViews

log = logging.getLogger(__name__)
R = TypeVar("R", bound=AnyJobRequest)

POLL_SECONDS = 0.1


class JobFailed(Exception):
    """The job ended without images; ``problem`` says why (the job's own error, or a wait timeout)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


class ClientGone(Exception):
    """The client disconnected while its job ran; the job was canceled."""


@dataclass(frozen=True)
class Finished:
    view: JobView
    pngs: list[bytes]


def build_request(model: type[R], fields: dict[str, object]) -> R:
    """A native request from a facade's mapped fields; schema refusals become :class:`RequestInvalid`."""
    try:
        return cast(R, model.model_validate(fields))
    except ValidationError as exc:
        errors = [FieldError(loc=["body", *e["loc"]], msg=e["msg"], type=e["type"]) for e in exc.errors()]
        named = ", ".join(str(e.loc[-1]) for e in errors)
        raise RequestInvalid(f"invalid value for: {named}", errors) from exc


@dataclass(frozen=True)
class Native:
    """The native services a facade drives (one dependency for the compat routes): submits, job views, the queue."""

    submits: SubmitService
    views: JobViews
    queue: QueueState

    @property
    def settings(self) -> Settings:
        return self.submits.settings

    @property
    def redis(self) -> Redis:
        return self.submits.redis


def get_native(submits: SubmitsDep, views: ViewsDep, queue: QueueDep) -> Native:
    return Native(submits, views, queue)


NativeDep = Annotated[Native, Depends(get_native)]


async def _cancel(jobs: Native, job_id: str) -> None:
    job = await run_in_threadpool(jobs.views.fetch, job_id)
    await run_in_threadpool(jobs.queue.cancel, job)


async def run_job(
    request: AnyJobRequest,
    principal: Principal,
    jobs: Native,
    http: Request,
    *,
    canceled_ok: bool = False,
) -> Finished:
    """Submit ``request`` as ``principal`` and wait for the job (at most ``compat_wait_seconds``). A job canceled
    by someone else (a native cancel, an A1111 interrupt) is an error, or with ``canceled_ok`` a result without
    images."""
    accepted = await run_in_threadpool(jobs.submits.submit, request, principal)
    job_id = accepted.id
    deadline = time.monotonic() + jobs.settings.compat_wait_seconds
    while not (await run_in_threadpool(jobs.views.status, job_id)).is_terminal:
        if await http.is_disconnected():
            log.info("job %s: the client disconnected; canceling it", job_id)
            await _cancel(jobs, job_id)
            raise ClientGone(job_id)
        if time.monotonic() > deadline:
            await _cancel(jobs, job_id)
            raise JobFailed(_problem(504, "wait_timeout", f"job {job_id} did not finish in time; it was canceled"))
        await asyncio.sleep(POLL_SECONDS)
    view = await run_in_threadpool(jobs.views.view, job_id)
    if view.status is JobStatus.FAILED:
        raise JobFailed(view.error or _problem(500, "generation_failed", f"job {job_id} failed"))
    if view.status is JobStatus.CANCELED and canceled_ok:
        return Finished(view=view, pngs=[])
    if view.status is JobStatus.CANCELED:
        raise JobFailed(_problem(500, "canceled", f"job {job_id} was canceled"))
    job = await run_in_threadpool(jobs.views.fetch, job_id)
    paths = [await run_in_threadpool(jobs.views.image_path, job, image.index, thumbnail=False) for image in view.images]
    return Finished(view=view, pngs=[path.read_bytes() for path in paths])


def _problem(status: int, code: str, detail: str) -> Problem:
    return Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=code.replace("_", " ").capitalize(),
        status=status,
        detail=detail,
        code=code,
    )
