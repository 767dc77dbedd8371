"""Names shared by the API and the worker through Redis: the task path, queues, key names, the serializer."""

from __future__ import annotations

from enum import StrEnum

# The API enqueues by dotted path, so it never imports worker code.
RUN_JOB_TASK = "worker.tasks.run_job"
CONTROL_TASK = "worker.tasks.control_job"  # model load/unload, carried out by the worker that owns the GPU
# RQ stores job arguments and results with this serializer (JSON: no pickle crosses the boundary).
RQ_SERIALIZER = "rq.serializers.JSONSerializer"

_PREFIX = "sdq:"


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_ORDER = (Priority.HIGH, Priority.NORMAL, Priority.LOW)


def queue_name(base: str, priority: Priority) -> str:
    """One RQ queue per priority; the worker drains them in PRIORITY_ORDER."""
    return base if priority is Priority.NORMAL else f"{base}:{priority.value}"


def queue_names(base: str) -> list[str]:
    return [queue_name(base, p) for p in PRIORITY_ORDER]


def progress_key(job_id: str) -> str:
    """Hash with the running job's progress: step, total, stage, eta, it/s, updated_at."""
    return f"{_PREFIX}progress:{job_id}"


def events_key(job_id: str) -> str:
    """Redis stream of a job's events (fields ``event`` and ``data``); its ids are the SSE ids."""
    return f"{_PREFIX}events:{job_id}"


def cancel_key(job_id: str) -> str:
    """Set when a client cancels the job; the worker checks it before and at every step."""
    return f"{_PREFIX}cancel:{job_id}"


def reap_lock_key(job_id: str) -> str:
    """Short lock so one worker at a time recovers an orphaned job."""
    return f"{_PREFIX}reap:{job_id}"


def jobs_index_key(base_queue: str) -> str:
    """Sorted set of job ids by submit time (epoch seconds): listing and retention."""
    return f"{_PREFIX}jobs:{base_queue}"


def owner_jobs_key(base_queue: str, owner: str) -> str:
    """Sorted set of one owner's job ids by submit time: a user's listing reads only their own jobs."""
    return f"{_PREFIX}jobs:{base_queue}:owner:{owner}"


def job_owners_key(base_queue: str) -> str:
    """Hash job id -> owner, for the jobs in the index: retention finds the owner's index after the job expired."""
    return f"{_PREFIX}jobs:{base_queue}:owners"


def uploads_key(owner: str) -> str:
    """Hash upload id -> ``<created epoch>:<bytes>`` of one owner's uploads, for the upload quota."""
    return f"{_PREFIX}uploads:{owner}"


def watermark_checks_key(owner: str) -> str:
    """Sorted set of one owner's watermark-check operation ids by enqueue time (pending checks per user)."""
    return f"{_PREFIX}wmchecks:{owner}"


def event_streams_key(owner: str) -> str:
    """Sorted set of one owner's open event streams (a random id each) by last refresh time."""
    return f"{_PREFIX}streams:{owner}"


def upscaler_factor_key(name: str) -> str:
    """Hash {factor, size, mtime} the worker writes when it loads upscaler ``name``: the API knows its factor."""
    return f"{_PREFIX}upscaler:{name}"


def step_stats_key(model: str) -> str:
    """Hash ``<width>x<height>`` -> JSON {s_per_step, overhead_s, n} measured by the worker."""
    return f"{_PREFIX}stats:{model}"


def storage_key(base_queue: str) -> str:
    """Hash with the last retention sweep's disk usage: bytes, folders, swept_at."""
    return f"{_PREFIX}storage:{base_queue}"


def worker_heartbeat_key(worker_name: str) -> str:
    """Short-lived hash a live worker refreshes: name, queue, device, pid, models loaded, job."""
    return f"{_PREFIX}worker:{worker_name}"


WORKER_HEARTBEAT_PATTERN = f"{_PREFIX}worker:*"


class Event(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    PREVIEW = "preview"
    REQUEUED = "requeued"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (Event.FINISHED, Event.FAILED, Event.CANCELED)


EVENTS_MAXLEN = 1000
