"""What a running job tells the world: progress (hash, for polling) and events (stream, for SSE).

The reporter also carries the two ways a job is stopped from outside, checked before the model loads and
after every denoising step: a client's cancel flag in Redis, and the worker's own abort request (a second
SIGINT/SIGTERM), which re-queues the job.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from schemas.keys import Event, cancel_key
from store.events import publish_event, queue_event
from store.progress import ProgressRecord

log = logging.getLogger(__name__)


class JobCanceled(Exception):
    """The client canceled the job: it ends ``canceled`` and publishes no images."""


class WorkerAborting(Exception):
    """The worker was told to stop now: the job goes back to the front of its queue."""


class JobReporter:
    def __init__(self, redis: Redis, job_id: str, ttl_seconds: int, abort_requested: Any) -> None:
        self._redis = redis
        self.job_id = job_id
        self._ttl = ttl_seconds
        self._abort_requested = abort_requested  # callable -> bool
        self._denoise_started: float | None = None
        self._redis_lost = False

    def publish(self, event: Event, data: dict[str, Any]) -> None:
        publish_event(self._redis, self.job_id, event, data, self._ttl)

    def check_stop(self) -> None:
        if self._abort_requested():
            raise WorkerAborting("worker is shutting down")
        if self._redis.exists(cancel_key(self.job_id)):
            raise JobCanceled("canceled by request")

    def stage(self, stage: str, step: int, total: int) -> None:
        if stage == "denoising":
            self._denoise_started = time.perf_counter()
        self._report({"stage": stage, "step": step, "total": total, "its": None, "eta_seconds": None})

    def step(self, step: int, total: int) -> None:
        """After each denoising step: progress with it/s and eta, then the stop checks."""
        elapsed = time.perf_counter() - (self._denoise_started or time.perf_counter())
        its = step / elapsed if elapsed > 0 else None
        eta = (total - step) / its if its else None
        data = {
            "stage": "denoising",
            "step": step,
            "total": total,
            "its": None if its is None else round(its, 3),
            "eta_seconds": None if eta is None else round(eta, 3),
        }
        if self._report(data):
            raise JobCanceled("canceled by request")
        if self._abort_requested():
            raise WorkerAborting("worker is shutting down")

    def preview(self, step: int, data_url: str | None) -> None:
        if data_url is not None:
            self.publish(Event.PREVIEW, {"step": step, "image": data_url})

    def _report(self, data: dict[str, Any]) -> bool:
        """Progress hash, progress event and the cancel check in one round trip; True when canceled.

        Best effort: while Redis is unreachable the job goes on without reporting (and cannot be canceled);
        its outcome is written once Redis answers again (``SdqWorker.execute_job``)."""
        event = {k: v for k, v in data.items() if v is not None or k in ("stage", "step", "total")}
        pipe = self._redis.pipeline(transaction=False)
        ProgressRecord.model_validate(data).queue_write(pipe, self.job_id, self._ttl)
        queue_event(pipe, self.job_id, Event.PROGRESS, event, self._ttl)
        pipe.exists(cancel_key(self.job_id))
        try:
            canceled = bool(pipe.execute()[-1])
        except RedisError as exc:
            if not self._redis_lost:
                log.warning("job %s: cannot report progress, Redis unreachable (%s); the job goes on", self.job_id, exc)
            self._redis_lost = True
            return False
        if self._redis_lost:
            log.info("job %s: Redis answers again", self.job_id)
            self._redis_lost = False
        return canceled
