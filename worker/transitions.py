"""Job state moves that RQ's own worker loop does not make: cancel a running job, put a started job back
at the front of its queue, fail a job whose worker died. Each also publishes the job's event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import CanceledJobRegistry, FailedJobRegistry, StartedJobRegistry

from schemas.errors import AppError
from schemas.keys import RQ_SERIALIZER, Event
from store.events import publish_event


def _queue(redis: Redis, job: Job) -> Queue:
    return Queue(job.origin, connection=redis, serializer=RQ_SERIALIZER)


def mark_canceled(redis: Redis, job: Job, ttl: int) -> None:
    """A job stopped by its cancel flag: status canceled, in the canceled registry, out of started."""
    job.ended_at = datetime.now(UTC)
    with redis.pipeline() as pipe:
        StartedJobRegistry(queue=_queue(redis, job)).remove_executions(job, pipeline=pipe)
        job.set_status(JobStatus.CANCELED, pipeline=pipe)
        job.save(pipeline=pipe, include_meta=True, include_result=False)
        CanceledJobRegistry(queue=_queue(redis, job)).add(job, ttl=ttl, pipeline=pipe)
        pipe.execute()
    publish_event(redis, job.id, Event.CANCELED, {}, ttl)


def requeue_at_front(redis: Redis, job: Job, ttl: int, reason: str, *, count_retry: bool) -> None:
    """Put a started job back at the front of its queue (worker stopping, or its worker died)."""
    if count_retry:
        job.meta["retries"] = int(job.meta.get("retries", 0)) + 1
    job.meta.pop("outcome", None)
    job.started_at = None
    job.ended_at = None
    job.save_meta()
    StartedJobRegistry(queue=_queue(redis, job)).remove_executions(job)
    _queue(redis, job).enqueue_job(job, at_front=True)
    publish_event(redis, job.id, Event.REQUEUED, {"reason": reason, "retries": job.meta.get("retries", 0)}, ttl)


def fail_job(redis: Redis, job: Job, error: AppError, ttl: int) -> None:
    """End a started job ``failed`` with ``error`` as its problem details."""
    job.meta["error"] = error.to_problem().model_dump(mode="json")
    job.ended_at = datetime.now(UTC)
    job.save_meta()
    with redis.pipeline() as pipe:
        StartedJobRegistry(queue=_queue(redis, job)).remove_executions(job, pipeline=pipe)
        job.set_status(JobStatus.FAILED, pipeline=pipe)
        FailedJobRegistry(queue=_queue(redis, job)).add(job, ttl=ttl, exc_string=error.detail, pipeline=pipe)
        pipe.execute()
    publish_event(redis, job.id, Event.FAILED, {}, ttl)


def record_error(job: Any, error: AppError) -> None:
    job.meta["error"] = error.to_problem().model_dump(mode="json")
    job.save_meta()
