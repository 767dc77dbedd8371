"""The queue as the API sees it: one RQ queue per priority, positions across them, counts, live workers,
clearing, and the last retention sweep's disk usage. Synchronous (redis-py and RQ are)."""

from __future__ import annotations

import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from schemas.jobs import CancelResult, JobPayload, JobStatus, QueuedJob, QueueView, StorageView, WorkerView
from schemas.keys import (
    PRIORITY_ORDER,
    RQ_SERIALIZER,
    RUN_JOB_TASK,
    Event,
    Priority,
    cancel_key,
    queue_name,
)
from schemas.scheduling import WINDOW
from schemas.settings import Settings
from store.events import publish_event
from store.fairshare import FairState, fair_order, read_candidates
from store.heartbeat import live_heartbeats
from store.metrics import Metrics
from store.usage import StorageUsage

_STATUS_MAP = {
    RQStatus.QUEUED: JobStatus.QUEUED,
    RQStatus.DEFERRED: JobStatus.QUEUED,
    RQStatus.SCHEDULED: JobStatus.QUEUED,
    RQStatus.STARTED: JobStatus.STARTED,
    RQStatus.FINISHED: JobStatus.FINISHED,
    RQStatus.FAILED: JobStatus.FAILED,
    RQStatus.STOPPED: JobStatus.CANCELED,
    RQStatus.CANCELED: JobStatus.CANCELED,
}


def job_status(job: Job) -> JobStatus:
    """A job's status as the API names it (as last fetched)."""
    return _STATUS_MAP.get(job.get_status(refresh=False), JobStatus.QUEUED)


class QueueState:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.queues = {
            p: Queue(queue_name(settings.queue_name, p), connection=redis, serializer=RQ_SERIALIZER)
            for p in PRIORITY_ORDER
        }
        self.metrics = Metrics(redis, settings.queue_name)

    def queue_for(self, priority: Priority) -> Queue:
        return self.queues[priority]

    def priority_of(self, origin: str) -> Priority:
        for priority, queue in self.queues.items():
            if queue.name == origin:
                return priority
        return Priority.NORMAL

    def fair_ids(self, queue: Queue, limit: int = WINDOW) -> list[str]:
        """The ids of ``queue`` in the order the workers take them: fair shares between users
        (``store.fairshare``); model affinity may swap neighbours, it does not change whose turn it is."""
        candidates = read_candidates(self.redis, queue.key, limit)
        return [c.job_id for c in fair_order(candidates, FairState.read(self.redis, self.settings.queue_name))]

    def position(self, job_id: str, origin: str) -> int | None:
        """1-based place across all priority queues in the order the workers take jobs (1 = next to run); None
        when not queued."""
        ahead = 0
        for queue in self.queues.values():
            if queue.name == origin:
                index = queue.get_job_position(job_id)
                if index is None:
                    return None
                ids = self.fair_ids(queue) if index < WINDOW else []  # behind the window: queue order
                return ahead + (ids.index(job_id) if job_id in ids else index) + 1
            ahead += queue.count
        return None

    def queued_jobs(self, limit: int = 200) -> list[QueuedJob]:
        listed: list[QueuedJob] = []
        for priority, queue in self.queues.items():
            ids = self.fair_ids(queue)[: limit - len(listed)] if len(listed) < limit else []
            for job in Job.fetch_many(ids, connection=self.redis, serializer=RQ_SERIALIZER):
                if job is None or job.func_name != RUN_JOB_TASK:
                    continue
                payload = JobPayload.model_validate(job.args[0])
                listed.append(
                    QueuedJob(
                        id=job.id,
                        position=len(listed) + 1,
                        priority=priority,
                        mode=payload.request.mode,
                        model=payload.model,
                        owner=payload.owner,
                        submitted_at=payload.submitted_at,
                    )
                )
        return listed

    def counts(self) -> dict[JobStatus, int]:
        totals = dict.fromkeys(JobStatus, 0)
        for queue in self.queues.values():
            totals[JobStatus.QUEUED] += queue.count
            totals[JobStatus.STARTED] += StartedJobRegistry(queue=queue).count
            totals[JobStatus.FINISHED] += FinishedJobRegistry(queue=queue).count
            totals[JobStatus.FAILED] += FailedJobRegistry(queue=queue).count
            totals[JobStatus.CANCELED] += CanceledJobRegistry(queue=queue).count
        return totals

    def cancel_queued(self, job: Job) -> bool:
        """Take a queued job out of its queue now; False if a worker got it first (it then sees the flag)."""
        self.redis.set(cancel_key(job.id), 1, ex=self.settings.retention_seconds)
        try:
            job.cancel()
        except (InvalidJobOperation, NoSuchJobError):
            return False
        if job.get_status(refresh=True) != "canceled":
            return False
        publish_event(self.redis, job.id, Event.CANCELED, {}, self.settings.retention_seconds)
        return True

    def clear(self) -> int:
        canceled = 0
        for queue in self.queues.values():
            for job in Job.fetch_many(queue.get_job_ids(), connection=self.redis, serializer=RQ_SERIALIZER):
                if job is not None and job.func_name == RUN_JOB_TASK and self.cancel_queued(job):
                    canceled += 1
                    self.metrics.count("jobs", mode=str(job.meta.get("mode", "")), status="canceled")
        return canceled

    def workers(self) -> list[WorkerView]:
        """Workers of this queue with a live heartbeat (keys expire ``worker_heartbeat_ttl`` after it)."""
        return [beat.view() for beat in live_heartbeats(self.redis, self.settings.queue_name)]

    def storage(self) -> StorageView:
        usage = StorageUsage.read(self.redis, self.settings.queue_name)
        return usage.view() if usage else StorageView()

    def readiness(self, require_worker: bool = True) -> tuple[bool, str]:
        """(ready, reason): Redis answers and (``require_worker``) at least one worker heartbeat is live."""
        started = time.perf_counter()
        try:
            self.redis.ping()
        except RedisError as exc:
            return False, f"redis unreachable: {exc}"
        latency_ms = (time.perf_counter() - started) * 1000
        workers = self.workers()
        if not workers and require_worker:
            return False, "no worker heartbeat"
        return True, f"redis ok ({latency_ms:.1f} ms), {len(workers)} worker(s)"

    def cancel(self, job: Job) -> CancelResult:
        """Queued: leaves the queue now. Started: the worker stops it at its next step. Ended: unchanged."""
        status = job_status(job)
        if status.is_terminal:
            return CancelResult(id=job.id, status=status, detail=f"the job had already ended {status.value}")
        if status is JobStatus.QUEUED and self.cancel_queued(job):
            self.metrics.count("jobs", mode=str(job.meta.get("mode", "")), status="canceled")
            return CancelResult(id=job.id, status=JobStatus.CANCELED, detail="removed from the queue")
        self.redis.set(cancel_key(job.id), 1, ex=self.settings.retention_seconds)
        return CancelResult(id=job.id, status=JobStatus.STARTED, detail="the worker stops the job at its next step")

    def queued_count(self, owner: str) -> int:
        return sum(1 for job in self.queued_jobs(limit=10_000) if job.owner == owner)

    def view(self, owner: str | None) -> QueueView:
        """Counts and workers for everyone; the queued jobs of ``owner`` (None: all), with global positions."""
        workers = self.workers()
        return QueueView(
            counts=self.counts(),
            workers_alive=len(workers),
            workers=workers,
            jobs=[j for j in self.queued_jobs() if owner is None or j.owner == owner],
            storage=self.storage(),
        )
