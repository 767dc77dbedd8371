"""The app factory: ``create_app(settings)`` wires settings, Redis, auth, the job service and the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from auth.service import AuthService
from models.registry import ModelRegistry
from schemas.settings import Settings
from schemas.version import VERSION
from server.compat import a1111 as a1111_compat
from server.compat import openai as openai_compat
from server.events import BLOCK_MS
from server.hosts import HostGuard, allowed_host_names
from server.jobs import JobService
from server.limits import BodySizeLimit
from server.operations import ControlOperations
from server.problems import install_problem_handlers
from server.routes import auth, cache, generate, jobs, models, queue, system, watermark
from server.webui import mount_webui
from store.connection import connect, connect_async

DESCRIPTION = """
Self-hosted Stable Diffusion over HTTP. Submit a generation request, get a job id at once (202), poll the job or
follow its events, download PNGs and WebP thumbnails. Every 4xx/5xx answer is RFC 9457 problem details
(`application/problem+json`) with `errors[{loc, msg}]` naming refused fields. Authentication follows `SDQ_AUTH`:
`Authorization: Bearer <access token | sdq_ API key>` or `X-API-Key`.
"""


def create_app(settings: Settings) -> FastAPI:
    """Raises ``auth.keys.InsecureConfiguration`` for a weak JWT secret outside development."""
    redis = connect(settings.redis_url)
    aredis = connect_async(settings.redis_url, blocking_seconds=BLOCK_MS / 1000)
    auth_service = AuthService(settings, redis)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        redis.close()
        await aredis.aclose()

    app = FastAPI(title="sdqueue", version=VERSION, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.auth = auth_service
    registry = ModelRegistry(settings.models_dir, settings.hub_models)
    app.state.registry = registry
    app.state.jobs = JobService(settings, redis, registry, sign_url=auth_service.sign)
    app.state.operations = ControlOperations(settings, redis, app.state.jobs.queue)
    app.state.aredis = aredis
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Last-Event-ID"],
        )
    if not settings.auth_enabled:  # outermost: a rebound page's request is refused before anything else runs
        app.add_middleware(HostGuard, allowed=allowed_host_names(settings.allowed_hosts, settings.host))
    for module in (auth, cache, generate, jobs, models, queue, system, watermark):
        app.include_router(module.router)
    app.include_router(openai_compat.router)
    app.include_router(a1111_compat.router)
    mount_webui(app)
    return app
