"""``sdqueue worker``: build the context, then drain the queue with an in-process (non-forking) worker.

RQ's default worker forks a work-horse per job; once the parent has run torch, the child deadlocks on
its first torch op, and a model loaded in a child is lost after every job. ``SimpleWorker`` runs jobs
in this process, so the model manager's pipelines stay resident between jobs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker

from models.manager import ModelManager, choose_device
from models.registry import resolve_model_name
from schemas.errors import AppError
from schemas.keys import RQ_SERIALIZER, worker_heartbeat_key
from schemas.settings import Settings
from worker import runtime

log = logging.getLogger(__name__)


class SdqWorker(SimpleWorker):
    """A SimpleWorker that also publishes a short-lived heartbeat with its device and loaded models."""

    def __init__(self, context: runtime.WorkerContext, **kwargs: Any) -> None:
        settings = context.settings
        queue = Queue(settings.queue_name, connection=context.redis, serializer=RQ_SERIALIZER)
        name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        super().__init__([queue], name=name, connection=context.redis, serializer=RQ_SERIALIZER, **kwargs)
        self.context = context
        self._stop_heartbeat = threading.Event()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        thread = threading.Thread(target=self._heartbeat_loop, name="sdq-heartbeat", daemon=True)
        thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._stop_heartbeat.set()
            thread.join(timeout=2)
            self.context.redis.delete(worker_heartbeat_key(self.name))

    def _heartbeat_loop(self) -> None:
        ttl = self.context.settings.worker_heartbeat_ttl
        key = worker_heartbeat_key(self.name)
        while not self._stop_heartbeat.is_set():
            fields: dict[Any, Any] = {
                "name": self.name,
                "queue": self.context.settings.queue_name,
                "pid": os.getpid(),
                "device": self.context.manager.policy.describe(),
                "models_loaded": ",".join(self.context.manager.loaded),
                "current_job": self.context.current_job or "",
            }
            try:
                pipe = self.context.redis.pipeline(transaction=False)
                pipe.hset(key, mapping=fields)
                pipe.expire(key, ttl)
                pipe.execute()
            except Exception:  # a Redis blip must not kill the heartbeat thread
                log.warning("worker heartbeat failed", exc_info=True)
            self._stop_heartbeat.wait(max(1.0, ttl / 3))


def preload_default_model(context: runtime.WorkerContext) -> None:
    """Load the default model before the first job, when one can be resolved; failures only log."""
    settings = context.settings
    try:
        name = resolve_model_name(settings.models_dir, None, settings.default_model)
        context.manager.get(name)
        log.info("preloaded model %s", name)
    except AppError as exc:
        log.warning("no model preloaded: %s", exc.detail)


def run_worker(settings: Settings, *, burst: bool = False, preload: bool = True) -> None:
    redis = Redis.from_url(settings.redis_url)
    manager = ModelManager(settings.models_dir, choose_device(settings.device))
    context = runtime.WorkerContext(settings=settings, redis=redis, manager=manager)
    runtime.install(context)
    log.info(
        "worker on %s, queue %s, models in %s",
        manager.policy.describe(),
        settings.queue_name,
        settings.models_dir,
    )
    if preload:
        preload_default_model(context)
    SdqWorker(context, default_result_ttl=settings.result_ttl).work(
        burst=burst, logging_level=settings.log_level.upper()
    )
