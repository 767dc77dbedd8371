"""Recover jobs whose worker died mid-job (kill -9, OOM, power loss).

Every live worker refreshes a heartbeat key with a TTL (``SDQ_WORKER_HEARTBEAT_TTL``). Each worker, every
ttl/3 seconds, looks at the started jobs of its queues: a job whose worker has no heartbeat any more is an
orphan. It goes back to the front of its queue while it has retries left (``SDQ_MAX_RETRIES``, default 1; the
count is in its record), else it ends ``failed`` with ``worker_died``. So an orphan is seen within about
ttl + ttl/3 seconds of the death (20 s with the defaults), by any worker of the queue, or by the next one to start.
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry

from schemas.errors import WorkerDied
from schemas.keys import RQ_SERIALIZER, queue_names, reap_lock_key
from schemas.settings import Settings
from store.heartbeat import is_alive
from store.metrics import Metrics
from worker.transitions import fail_job, requeue_at_front

log = logging.getLogger(__name__)


def is_orphan(redis: Redis, job: Job) -> bool:
    owner = job.worker_name
    return bool(owner) and not is_alive(redis, str(owner))


def reap_orphans(redis: Redis, settings: Settings, reaper: str) -> list[str]:
    """Re-queue or fail every started job whose worker is gone; returns the ids handled."""
    handled = []
    for name in queue_names(settings.queue_name):
        registry = StartedJobRegistry(queue=Queue(name, connection=redis, serializer=RQ_SERIALIZER))
        for job_id in registry.get_job_ids(cleanup=False):
            try:
                job = Job.fetch(job_id, connection=redis, serializer=RQ_SERIALIZER)
            except NoSuchJobError:
                registry.remove(job_id)
                continue
            if not is_orphan(redis, job):
                continue
            if not redis.set(reap_lock_key(job_id), reaper, nx=True, ex=60):
                continue  # another worker is on it
            recover(redis, settings, job, "worker died")
            handled.append(job_id)
    return handled


def recover(redis: Redis, settings: Settings, job: Job, reason: str) -> None:
    """A started job whose run was lost (``reason``): back to the front of its queue while it has retries left
    (``SDQ_MAX_RETRIES``), else ``failed`` with ``worker_died``."""
    retries = int(job.meta.get("retries", 0))
    ttl = settings.retention_seconds
    if retries < settings.max_retries:
        log.warning("job %s: %s; re-queued (retry %d of %d)", job.id, reason, retries + 1, settings.max_retries)
        requeue_at_front(redis, job, ttl, reason, count_retry=True)
    else:
        log.warning("job %s: %s; no retries left, failing it", job.id, reason)
        error = WorkerDied(f"{reason} while running the job (worker {job.worker_name}; retries used: {retries})")
        fail_job(redis, job, error, ttl)
        Metrics(redis, settings.queue_name).count("jobs", mode=str(job.meta.get("mode", "")), status="failed")
