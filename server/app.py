"""The app factory: ``create_app(settings)`` builds each service once (Redis clients, auth, the model registry, the
queue, inputs, the result cache, submits, job views, control operations), keeps them on ``app.state`` for the
dependencies in ``server/deps.py``, and mounts the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis import Redis

from auth.service import AuthService
from models.registry import ModelRegistry
from schemas.settings import Settings, load_settings
from schemas.version import VERSION
from server.compat import a1111 as a1111_compat
from server.compat import a1111_extras, a1111_lists, a1111_progress
from server.compat import openai as openai_compat
from server.events import BLOCK_MS
from server.hosts import HostGuard, allowed_host_names
from server.inputs import InputStore
from server.limits import BodySizeLimit
from server.model_checks import ModelChecks
from server.operations import ControlOperations
from server.problems import install_problem_handlers
from server.queue import QueueState
from server.request_id import RequestId
from server.routes import auth, cache, generate, job_delete, jobs, models, queue, system, watermark
from server.submit import SubmitService
from server.views import JobViews
from server.webui import mount_webui
from store.cache import CacheStore
from store.connection import connect, connect_async

DESCRIPTION = """
Self-hosted Stable Diffusion over HTTP. Submit a generation request, get a job id at once (202), poll the job or
follow its events, download PNGs and WebP thumbnails. Every 4xx/5xx answer is RFC 9457 problem details
(`application/problem+json`) with `errors[{loc, msg}]` naming refused fields. Authentication follows `SDQ_AUTH`:
`Authorization: Bearer <access token | sdq_ API key>` or `X-API-Key`.
"""


@dataclass(frozen=True)
class Services:
    """The API's services, each built once; the dependencies in ``server/deps.py`` hand them to the routes."""

    registry: ModelRegistry
    queue: QueueState
    inputs: InputStore
    cache: CacheStore
    submits: SubmitService
    views: JobViews
    operations: ControlOperations


def build_services(auth: AuthService, redis: Redis) -> Services:
    settings = auth.settings
    registry = ModelRegistry(settings.models_dir, settings.hub_models)
    checks = ModelChecks(settings, redis, registry)
    queue = QueueState(settings, redis)
    inputs = InputStore(settings, redis, factor_of=lambda name: checks.factor(name, "upscaler"))
    cache = CacheStore.for_settings(settings, redis)
    return Services(
        registry=registry,
        queue=queue,
        inputs=inputs,
        cache=cache,
        submits=SubmitService(auth, redis, checks, queue, inputs, cache),
        views=JobViews(settings, redis, queue, sign_url=auth.sign),
        operations=ControlOperations(settings, redis, queue),
    )


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
    state = app.state
    state.settings, state.auth, state.redis, state.aredis = settings, auth_service, redis, aredis
    for name, service in vars(build_services(auth_service, redis)).items():
        setattr(state, name, service)
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Last-Event-ID", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    if not settings.auth_enabled:  # a rebound page's request is refused before anything else runs
        app.add_middleware(HostGuard, allowed=allowed_host_names(settings.allowed_hosts, settings.host))
    app.add_middleware(RequestId)  # outermost: every answer, a refusal too, carries X-Request-ID
    for module in (auth, cache, generate, job_delete, jobs, models, queue, system, watermark):
        app.include_router(module.router)
    app.include_router(openai_compat.router)
    app.include_router(a1111_compat.router)
    app.include_router(a1111_extras.router)
    app.include_router(a1111_progress.router)
    app.include_router(a1111_lists.router)
    app.include_router(a1111_lists.controlnet_router)
    mount_webui(app)
    return app


def app_from_environment() -> FastAPI:
    """The app factory each process of ``sdqueue api --workers N`` calls: settings from the environment and the
    TOML file (the CLI put its overrides into the environment before starting them)."""
    return create_app(load_settings())
