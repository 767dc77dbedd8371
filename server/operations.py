"""Control operations the worker carries out for the API: model loads and unloads (admins), and invisible-watermark
checks (the decoder imports torch, which the API never does).

They are RQ jobs of ``CONTROL_TASK`` on the high-priority queue. Loads and unloads go to its front, ahead of every
generation job. A watermark check joins its end: ahead of normal and low jobs, behind high-priority jobs and checks
queued before it, so a burst of checks cannot hold those back. Each check is noted per owner
(``sdq:wmchecks:<owner>``) so the policy can cap the checks one principal has pending.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from redis import Redis
from rq.job import Job

from schemas.jobs import JobStatus
from schemas.keys import CONTROL_TASK, RQ_SERIALIZER, Priority, watermark_checks_key
from schemas.models import ModelOperation
from schemas.settings import Settings
from server.queue import QueueState, job_status
from server.views import API_PREFIX, fetch_task

RESULT_TTL = 3600


class ControlOperations:
    def __init__(self, settings: Settings, redis: Redis, queue: QueueState) -> None:
        self.settings = settings
        self.redis = redis
        self.queue = queue

    def enqueue_model_operation(self, action: str, model: str) -> ModelOperation:
        """Queue a load/unload at the front of the high-priority queue, ahead of every generation job."""
        return self._enqueue(action, model, at_front=True)

    def enqueue_watermark_check(self, upload_id: str, owner: str) -> ModelOperation:
        """Queue a watermark check at the end of the high-priority queue; noted as one of ``owner``'s."""
        operation = self._enqueue("watermark_check", "", at_front=False, upload=upload_id)
        key = watermark_checks_key(owner)
        with self.redis.pipeline() as pipe:
            pipe.zadd(key, {operation.id: time.time()})
            pipe.expire(key, self.settings.job_timeout + RESULT_TTL)
            pipe.execute()
        return operation

    def pending_watermark_checks(self, owner: str) -> int:
        """How many of ``owner``'s watermark checks are queued or running (forgetting those that ended)."""
        key = watermark_checks_key(owner)
        members: Any = self.redis.zrange(key, 0, -1)
        ids = [raw.decode() for raw in members]
        jobs = Job.fetch_many(ids, connection=self.redis, serializer=RQ_SERIALIZER)
        ended = [job_id for job_id, job in zip(ids, jobs, strict=True) if job is None or job_status(job).is_terminal]
        if ended:
            self.redis.zrem(key, *ended)
        return len(ids) - len(ended)

    def _enqueue(self, action: str, model: str, *, at_front: bool, **extra: str) -> ModelOperation:
        operation_id = uuid.uuid4().hex
        self.queue.queue_for(Priority.HIGH).enqueue_call(
            CONTROL_TASK,
            args=({"action": action, "model": model, **extra},),
            job_id=operation_id,
            timeout=self.settings.job_timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            description=f"{action} {model}",
            meta={"action": action, "model": model},
            at_front=at_front,
        )
        return self.view(operation_id)

    def wait(self, operation_id: str, seconds: float) -> ModelOperation:
        """The operation once it ended, or as it is after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            operation = self.view(operation_id)
            if operation.status in ("finished", "failed") or time.monotonic() > deadline:
                return operation
            time.sleep(0.02)

    def view(self, operation_id: str) -> ModelOperation:
        job = fetch_task(self.redis, operation_id, CONTROL_TASK, "operation")
        status = job_status(job)
        result = job.return_value() if status is JobStatus.FINISHED else None
        error = None
        if status is JobStatus.FAILED:
            error = str(job.meta.get("error", {}).get("detail") or (job.exc_info or "").strip().splitlines()[-1:])
        return ModelOperation(
            id=operation_id,
            action=job.meta.get("action", ""),
            model=job.meta.get("model", ""),
            status=status.value,
            result=result,
            error=error,
            links={"self": f"{API_PREFIX}/models/operations/{operation_id}"},
        )
