"""The app factory: ``create_app(settings)`` wires settings, Redis, the job service and the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from schemas.settings import Settings
from schemas.version import VERSION
from server.jobs import JobService
from server.problems import install_problem_handlers
from server.routes import generate, jobs, queue, system

DESCRIPTION = """
Self-hosted Stable Diffusion over HTTP. Submit a generation request, get a job id at once (202), poll the job,
download PNGs and WebP thumbnails. Every 4xx/5xx answer is RFC 9457 problem details
(`application/problem+json`) with `errors[{loc, msg}]` naming refused fields.
"""


def create_app(settings: Settings) -> FastAPI:
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=10)
    aredis = AsyncRedis.from_url(settings.redis_url, socket_connect_timeout=2)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        redis.close()
        await aredis.aclose()

    app = FastAPI(title="sdqueue", version=VERSION, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.jobs = JobService(settings, redis)
    app.state.aredis = aredis
    install_problem_handlers(app)
    app.include_router(generate.router)
    app.include_router(jobs.router)
    app.include_router(queue.router)
    app.include_router(system.router)
    return app
