"""``sdqueue worker``: build the context, then drain the queues with an in-process (non-forking) worker.

RQ's default worker forks a work-horse per job; once the parent has run torch, the child deadlocks on
its first torch op, and a model loaded in a child is lost after every job. ``SimpleWorker`` runs jobs
in this process, so the model manager's pipelines stay resident between jobs.

Signals: the first SIGTERM/SIGINT lets the current job finish, takes no new one and exits 0 (RQ's warm
shutdown). A second one stops the job at its next denoising step and puts it back at the front of its queue.
A third exits at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from types import FrameType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from models.device import choose_device
from models.manager import ModelManager
from models.preview import PreviewDecoder
from models.registry import ModelRegistry
from models.single_file import ConfigFolders
from models.watermark import is_invisible_available
from schemas.errors import AppError
from schemas.keys import RQ_SERIALIZER, Event, queue_names
from schemas.settings import Settings
from store import logs
from store.connection import connect
from store.events import publish_event
from store.heartbeat import WorkerHeartbeat, delete_heartbeat
from worker import runtime
from worker.allowed import ProjectJob
from worker.recovery import reap_orphans, recover
from worker.retention import sweep
from worker.safety import SafetyChecks
from worker.transitions import mark_canceled, requeue_at_front

log = logging.getLogger(__name__)


class SdqWorker(SimpleWorker):
    """SimpleWorker plus: heartbeat and orphan reaping, retention sweeps, cancel/requeue outcomes, events,
    and a loop that rides out Redis outages.

    Idle, the worker blocks in ``BLPOP`` for ``DEQUEUE_SECONDS`` at a time on a connection whose socket timeout
    is longer than that (``store.connection``), so a job submitted to an idle worker starts at once. When Redis
    goes away RQ's loop reconnects every ``max_connection_wait_time`` seconds (RQ's default backs off to 60 s);
    the Redis calls RQ makes outside that loop are made to wait for Redis instead of ending the worker.
    """

    DEQUEUE_SECONDS = 60
    max_connection_wait_time = 1.0

    def __init__(self, context: runtime.WorkerContext, **kwargs: Any) -> None:
        settings = context.settings
        queues = [
            Queue(name, connection=context.redis, serializer=RQ_SERIALIZER, job_class=ProjectJob)
            for name in queue_names(settings.queue_name)
        ]
        name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        super().__init__(
            queues, name=name, connection=context.redis, serializer=RQ_SERIALIZER, job_class=ProjectJob, **kwargs
        )
        self.context = context
        context.worker_name = name
        logs.set_process_fields(worker=name)
        self._stop_threads = threading.Event()
        self._force_stops = 0

    # -- background threads -------------------------------------------------------------------------
    def work(self, *args: Any, **kwargs: Any) -> bool:
        self._beat()  # visible before the first job is taken
        threads = [
            threading.Thread(target=self._heartbeat_loop, name="sdq-heartbeat", daemon=True),
            threading.Thread(target=self._sweep_loop, name="sdq-sweep", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            self._stop_threads.set()
            for thread in threads:
                thread.join(timeout=5)
            delete_heartbeat(self.context.redis, self.name)

    def _beat(self) -> None:
        manager = self.context.manager
        stats = manager.stats
        WorkerHeartbeat(
            name=self.name,
            queue=self.context.settings.queue_name,
            pid=os.getpid(),
            device=manager.policy.describe(),
            policy=manager.policy.effective,
            previews=self.context.previews.method if self.context.preview_every else "off",
            models_loaded=list(manager.loaded),
            model_memory={
                "used_bytes": manager.used_bytes,
                "budget_bytes": manager.budget_bytes,
                "loads": stats.loads,
                "hits": stats.hits,
                "evictions": stats.evictions,
                "last_load_seconds": stats.last_load_seconds,
                "events": stats.events,
            },
            current_job=self.context.current_job,
            gpu=manager.gpu_status(),
            features=self.context.features,
        ).write(self.context.redis, self.context.settings.worker_heartbeat_ttl)

    def _heartbeat_loop(self) -> None:
        interval = max(1.0, self.context.settings.worker_heartbeat_ttl / 3)
        while not self._stop_threads.wait(interval):
            try:
                self._beat()
                reap_orphans(self.context.redis, self.context.settings, self.name)
            except Exception:  # a Redis blip must not kill the thread
                log.warning("heartbeat/reaper round failed", exc_info=True)

    def _sweep_loop(self) -> None:
        interval = self.context.settings.sweep_interval
        while True:
            try:
                sweep(self.context.redis, self.context.settings)
            except Exception:
                log.warning("retention sweep failed", exc_info=True)
            if self._stop_threads.wait(interval):
                return

    # -- Redis outages -------------------------------------------------------------------------------
    @property
    def dequeue_timeout(self) -> int:
        return self.DEQUEUE_SECONDS

    def check_for_suspension(self, burst: bool) -> None:
        while True:
            try:
                return super().check_for_suspension(burst)
            except (RedisConnectionError, RedisTimeoutError):
                self._wait_for_redis()

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()
        except (RedisConnectionError, RedisTimeoutError) as exc:  # tried again on the next round
            log.warning("worker %s: registry maintenance skipped, Redis unreachable: %s", self.name, exc)

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().heartbeat(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:  # the dequeue loop reconnects
            log.warning("worker %s: RQ heartbeat failed, Redis unreachable: %s", self.name, exc)

    def _wait_for_redis(self) -> None:
        """Block until Redis answers a PING, trying every ``max_connection_wait_time`` seconds."""
        lost = time.monotonic()
        log.error("worker %s: Redis unreachable; retrying every %.0f s", self.name, self.max_connection_wait_time)
        while True:
            time.sleep(self.max_connection_wait_time)
            try:
                self.connection.ping()
            except (RedisConnectionError, RedisTimeoutError):
                continue
            log.warning("worker %s: Redis answers again after %.1f s", self.name, time.monotonic() - lost)
            return

    def _recover_after_outage(self, job: Job) -> None:
        """Redis went away while ``job`` ran, so its outcome was not written: once Redis is back, a job that has
        not ended goes back to its queue (a retry) or fails, as if its worker had died."""
        self._wait_for_redis()
        try:
            status = job.get_status(refresh=True)
        except RedisError:
            log.exception("job %s: cannot read its state after the Redis outage", job.id)
            return
        if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED):
            return
        recover(self.connection, self.context.settings, job, "Redis was unreachable")

    # -- job outcomes ---------------------------------------------------------------------------------
    def execute_job(self, job: Job, queue: Queue) -> None:
        self.context.current_job = job.id
        try:
            self._beat()  # current job and model memory are visible at once, not only at the next beat
            super().execute_job(job, queue)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.error("job %s: Redis unreachable while the job ran or ended: %s", job.id, exc)
            self._recover_after_outage(job)
        finally:
            self.context.current_job = None
            try:
                self._beat()
            except RedisError:
                log.warning("worker %s: heartbeat failed, Redis unreachable", self.name)

    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        super().handle_job_success(job, queue, *args, **kwargs)
        publish_event(self.connection, job.id, Event.FINISHED, {}, self.context.settings.retention_seconds)

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        if job.meta.get("outcome"):  # a cancel or a re-queue, not a failure: no traceback in the log
            log.info("job %s: %s", job.id, job.meta["outcome"])
            return
        super().handle_exception(job, *exc_info)

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        outcome = job.meta.get("outcome")
        ttl = self.context.settings.retention_seconds
        if outcome is None:
            super().handle_job_failure(job, queue, *args, **kwargs)
            publish_event(self.connection, job.id, Event.FAILED, {}, ttl)
            return
        execution = kwargs.get("execution")
        with self.connection.pipeline() as pipe:
            self.cleanup_execution(job, pipeline=pipe, execution=execution)
            pipe.execute()
        if outcome == "canceled":
            mark_canceled(self.connection, job, ttl)
        else:
            requeue_at_front(self.connection, job, ttl, "worker stopping", count_retry=False)

    # -- signals -------------------------------------------------------------------------------------
    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """Second stop signal: abort the running job at its next step and re-queue it; third: exit now."""
        self._force_stops += 1
        if self.context.current_job is None or self._force_stops > 1:
            log.warning("worker %s: stopping now", self.name)
            raise SystemExit(0)
        log.warning(
            "worker %s: stopping job %s at its next step and re-queueing it",
            self.name,
            self.context.current_job,
        )
        self.context.abort_requested = True


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
