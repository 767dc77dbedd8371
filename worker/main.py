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
from collections.abc import Callable
from types import FrameType
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from schemas.keys import RQ_SERIALIZER, Event, drain_key, queue_names
from schemas.scheduling import PAYLOAD_VERSION
from schemas.version import VERSION
from store import logs
from store.events import publish_event
from store.heartbeat import WorkerHeartbeat, delete_heartbeat
from worker import runtime
from worker.allowed import ProjectJob
from worker.recovery import reap_orphans, recover
from worker.retention import sweep
from worker.scheduling import JobPicker, picking_queue_class
from worker.transitions import mark_canceled, requeue_at_front

log = logging.getLogger(__name__)

ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED)


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
        device = context.manager.policy.device_name.replace(":", "")
        name = f"{socket.gethostname()}.{device}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        super().__init__(
            queues, name=name, connection=context.redis, serializer=RQ_SERIALIZER, job_class=ProjectJob, **kwargs
        )
        self.context = context
        context.worker_name = name
        logs.set_process_fields(worker=name)
        # RQ's loop dequeues through queue_class.dequeue_any: the picker chooses (fair shares, model affinity).
        self.picker = JobPicker(context.redis, settings, name, lambda: list(context.manager.loaded))
        self.queue_class = picking_queue_class(self.picker)
        self._stop_threads = threading.Event()
        self._force_stops = 0
        self.jobs_done = 0
        self.draining = False
        self.current_model: str | None = None
        recorded = context.manager.on_load
        context.manager.on_load = lambda model, seconds: self._on_load(recorded, model, seconds)

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
            self.context.redis.delete(drain_key(self.name))

    def _beat(self) -> None:
        manager = self.context.manager
        stats = manager.stats
        WorkerHeartbeat(
            name=self.name,
            queue=self.context.settings.queue_name,
            pid=os.getpid(),
            version=VERSION,
            payload_version=PAYLOAD_VERSION,
            jobs_done=self.jobs_done,
            draining=self.draining,
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
            current_model=self.current_model,
            gpu=manager.gpu_status(),
            features=self.context.features,
        ).write(self.context.redis, self.context.settings.worker_heartbeat_ttl)

    def _on_load(self, recorded: Callable[[str, float], None] | None, model: str, seconds: float) -> None:
        """A model was loaded (and others maybe evicted): tell the other workers now, for model affinity."""
        if recorded is not None:
            recorded(model, seconds)
        try:
            self._beat()
        except RedisError:
            log.warning("worker %s: heartbeat failed, Redis unreachable", self.name)

    def _heartbeat_loop(self) -> None:
        interval = max(1.0, self.context.settings.worker_heartbeat_ttl / 3)
        while not self._stop_threads.wait(interval):
            try:
                if not self.draining and self.picker.is_draining():
                    self.start_draining("drain requested")
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
        self.current_model = None if job.meta.get("action") else job.meta.get("model")
        try:
            self._beat()  # current job and model memory are visible at once, not only at the next beat
            super().execute_job(job, queue)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.error("job %s: Redis unreachable while the job ran or ended: %s", job.id, exc)
            self._recover_after_outage(job)
        finally:
            self.context.current_job = None
            self.current_model = None
            self.jobs_done += job.get_status(refresh=False) in ENDED
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

    # -- signals and draining --------------------------------------------------------------------------
    def start_draining(self, why: str) -> None:
        """Finish the current job, take no other, exit (``sdqueue worker --drain NAME``, or a stop signal)."""
        log.warning("worker %s: draining (%s): finishing the current job, then exiting", self.name, why)
        self.draining = True
        self._stop_requested = True  # RQ's loop stops before its next dequeue

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.draining = True
        super().request_stop(signum, frame)

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
