"""What a running job tells the world: progress (hash, for polling) and events (stream, for SSE).

The reporter also carries the two ways a job is stopped from outside, checked before the model loads and
after every denoising step: a client's cancel flag in Redis, and the worker's own abort request (a second
SIGINT/SIGTERM), which re-queues the job.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from schemas.events import publish_event
from schemas.keys import Event, cancel_key, progress_key


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
        fields = {"stage": stage, "step": step, "total": total, "eta": "", "its": ""}
        self._write(fields)
        self.publish(Event.PROGRESS, {"stage": stage, "step": step, "total": total})

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
        self._write({**data, "its": data["its"] or "", "eta": data["eta_seconds"] if eta is not None else ""})
        self.publish(Event.PROGRESS, data)
        self.check_stop()

    def preview(self, step: int, data_url: str | None) -> None:
        if data_url is not None:
            self.publish(Event.PREVIEW, {"step": step, "image": data_url})

    def _write(self, fields: dict[Any, Any]) -> None:
        fields = {k: v for k, v in fields.items() if k != "eta_seconds"}
        fields["updated_at"] = time.time()
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(progress_key(self.job_id), mapping=fields)
        pipe.expire(progress_key(self.job_id), self._ttl)
        pipe.execute()
