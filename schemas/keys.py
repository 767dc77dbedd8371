"""Names shared by the API and the worker through Redis: the task path, key prefixes, the serializer."""

from __future__ import annotations

# The API enqueues by dotted path, so it never imports worker code.
RUN_JOB_TASK = "worker.tasks.run_job"
# RQ stores job arguments and results with this serializer (JSON: no pickle crosses the boundary).
RQ_SERIALIZER = "rq.serializers.JSONSerializer"

_PREFIX = "sdq:"


def progress_key(job_id: str) -> str:
    """Hash with the running job's progress: step, total, stage, updated_at."""
    return f"{_PREFIX}progress:{job_id}"


def worker_heartbeat_key(worker_name: str) -> str:
    """Short-lived hash a live worker refreshes: name, device, pid, model loaded, job."""
    return f"{_PREFIX}worker:{worker_name}"


WORKER_HEARTBEAT_PATTERN = f"{_PREFIX}worker:*"
