"""FastAPI dependencies: the settings and the job service built once by the app factory."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from redis.asyncio import Redis as AsyncRedis

from schemas.errors import PROBLEM_MEDIA_TYPE, Problem
from schemas.settings import Settings
from server.jobs import JobService


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_jobs(request: Request) -> JobService:
    service: JobService = request.app.state.jobs
    return service


def get_async_redis(request: Request) -> AsyncRedis:
    client: AsyncRedis = request.app.state.aredis
    return client


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[JobService, Depends(get_jobs)]
AsyncRedisDep = Annotated[AsyncRedis, Depends(get_async_redis)]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem-details answers."""
    return {
        status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "Problem details"}
        for status in statuses
    }
