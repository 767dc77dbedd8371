"""Starting ``sdqueue worker``: build the worker's context (settings, Redis, model manager, previews, safety), preload
the default model, then run :class:`worker.main.SdqWorker` until it stops."""

from __future__ import annotations

import logging
import time

from models.device import choose_device
from models.manager import ModelManager
from models.preview import PreviewDecoder
from models.registry import ModelRegistry
from models.single_file import ConfigFolders
from models.watermark import is_invisible_available
from schemas.errors import AppError
from schemas.keys import drain_key
from schemas.settings import Settings
from store.connection import connect
from store.heartbeat import live_heartbeats
from worker import runtime
from worker.main import SdqWorker
from worker.safety import SafetyChecks

log = logging.getLogger(__name__)


def preload_default_model(context: runtime.WorkerContext) -> None:
    """Load the default model before the first job, when one can be resolved; failures only log."""
    settings = context.settings
    try:
        name = context.manager.registry.resolve_checkpoint(None, settings.default_model).name
        context.manager.get(name)
        log.info("preloaded model %s", name)
    except AppError as exc:
        log.warning("no model preloaded: %s", exc.detail)


def _record_load(context: runtime.WorkerContext, model: str, seconds: float) -> None:
    context.metrics.count("model_loads", model=model)
    context.metrics.observe("model_load_seconds", seconds, model=model)


def run_worker(settings: Settings, *, burst: bool = False, preload: bool = True) -> None:
    redis = connect(settings.redis_url, blocking_seconds=SdqWorker.DEQUEUE_SECONDS)
    registry = ModelRegistry(settings.models_dir, settings.hub_models)
    budget = settings.model_memory_mb * 1024 * 1024 if settings.model_memory_mb else None
    configs = ConfigFolders(settings.data_dir / "cache" / "configs", settings.single_file_configs)
    manager = ModelManager(registry, choose_device(settings.device, settings), budget, configs)
    previews = PreviewDecoder(settings.models_dir, manager.policy.device)
    safety = SafetyChecks(settings, manager.policy.device)
    context = runtime.WorkerContext(settings, redis, manager, previews, safety)
    runtime.install(context)
    log.info(
        "worker on %s, queue %s, models in %s",
        manager.policy.describe(),
        settings.queue_name,
        settings.models_dir,
    )
    manager.on_load = lambda model, seconds: _record_load(context, model, seconds)
    context.features["invisible_watermark"] = is_invisible_available()
    context.features.update(safety.status)
    if settings.invisible_watermark and not is_invisible_available():
        log.warning("invisible-watermark is not installed: images get no invisible watermark (scripts/bootstrap.sh)")
    if preload:
        preload_default_model(context)
    started = time.monotonic()
    SdqWorker(context, default_result_ttl=settings.retention_seconds).work(
        burst=burst, logging_level=settings.log_level.upper()
    )
    log.info("worker stopped after %.0f s", time.monotonic() - started)


def request_drain(settings: Settings, name: str) -> list[str]:
    """Ask the live worker ``name`` (or every live worker whose name starts with it) to drain: finish its current
    job, take no other and exit. Returns the names asked; none when no live worker matches."""
    redis = connect(settings.redis_url)
    names = [b.name for b in live_heartbeats(redis, settings.queue_name) if b.name == name or b.name.startswith(name)]
    for worker in names:
        redis.set(drain_key(worker), 1, ex=max(60, settings.job_timeout + 60))
    return names
