"""FastAPI dependencies: settings, Redis, each service of the API (one per concern: submits, job views, the queue,
inputs, the result cache, control operations), the owner filter for listings, and job ownership
(``OwnedJob``, ``ViewableJob``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq.job import Job
from starlette.concurrency import run_in_threadpool

from auth.deps import AuthDep, CanReadJobs, api_key_header, current_principal, oauth2_scheme
from auth.principal import Principal, Scope
from models.registry import ModelRegistry
from schemas.errors import PROBLEM_MEDIA_TYPE, Forbidden, NotFound, Problem
from schemas.settings import Settings
from server.inputs import InputStore
from server.operations import ControlOperations
from server.queue import QueueState
from server.submit import SubmitService
from server.views import JobViews
from store.cache import CacheStore


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _state(name: str) -> Callable[[Request], Any]:
    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(_state("redis"))]
AsyncRedisDep = Annotated[AsyncRedis, Depends(_state("aredis"))]
RegistryDep = Annotated[ModelRegistry, Depends(_state("registry"))]
QueueDep = Annotated[QueueState, Depends(_state("queue"))]
InputsDep = Annotated[InputStore, Depends(_state("inputs"))]
CacheDep = Annotated[CacheStore, Depends(_state("cache"))]
SubmitsDep = Annotated[SubmitService, Depends(_state("submits"))]
ViewsDep = Annotated[JobViews, Depends(_state("views"))]
OperationsDep = Annotated[ControlOperations, Depends(_state("operations"))]


def owner_filter(principal: CanReadJobs) -> str | None:
    """Whose jobs a listing shows (needs jobs:read): None (everyone's) for an admin, else the caller's own."""
    return None if principal.is_admin else principal.name


OwnerFilter = Annotated[str | None, Depends(owner_filter)]


def is_visible_to(job: Job, principal: Principal) -> bool:
    return principal.is_admin or job.meta.get("owner") == principal.name


async def owned_job(job_id: str, principal: CanReadJobs, jobs: ViewsDep) -> Job:
    """The job, if the caller owns it (or is an admin); another user's job is 404, as if it did not exist."""
    job = await run_in_threadpool(jobs.fetch, job_id)
    if not is_visible_to(job, principal):
        raise NotFound(f"no job {job_id!r}")
    return job


OwnedJob = Annotated[Job, Depends(owned_job)]


async def viewable_job(
    job_id: str,
    request: Request,
    auth: AuthDep,
    jobs: ViewsDep,
    bearer: Annotated[str | None, Security(oauth2_scheme)],
    api_key: Annotated[str | None, Security(api_key_header)],
    exp: Annotated[int | None, Query(description="Expiry of a signed URL (epoch seconds).")] = None,
    sig: Annotated[str | None, Query(description="Signature of a signed URL.")] = None,
) -> Job:
    """For images: a valid signed URL (as given in the job's image URLs), or an owner's credentials.

    Eight parameters: FastAPI dependencies and query parameters (signed URL, credentials), each resolved by the
    framework."""
    if auth.enabled and auth.is_signed(request.url.path, exp, sig):
        return await run_in_threadpool(jobs.fetch, job_id)
    principal = await current_principal(auth, bearer, api_key)
    if not principal.has_scope(Scope.JOBS_READ):
        raise Forbidden("this needs the scope 'jobs:read'")
    return await owned_job(job_id, principal, jobs)


ViewableJob = Annotated[Job, Depends(viewable_job)]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem-details answers."""
    return {
        status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "Problem details"}
        for status in statuses
    }
