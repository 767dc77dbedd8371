"""Retention: delete jobs (output folder, prepared inputs, Redis records) older than ``SDQ_RETENTION_SECONDS``.

Uploads go with the same retention. The worker sweeps every ``SDQ_SWEEP_INTERVAL`` seconds; ``sdqueue sweep`` does
one sweep by hand. Only ended jobs are deleted. Output folders that no record knows (a crashed submit, a wiped Redis)
go when their mtime is older than the retention. Each sweep stores the disk usage of the outputs folder for
``GET /api/v1/queue``. A deleted job leaves every index (the global one and its owner's, ``store.job_index``).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from schemas.jobs import is_job_id
from schemas.keys import RQ_SERIALIZER, cancel_key, events_key, jobs_index_key, progress_key
from schemas.settings import Settings
from store.job_index import remove_job
from store.usage import StorageUsage

log = logging.getLogger(__name__)

ENDED = {"finished", "failed", "canceled", "stopped"}


@dataclass
class SweepReport:
    deleted: list[str]
    bytes: int
    folders: int


def _delete_job(redis: Redis, settings: Settings, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=redis, serializer=RQ_SERIALIZER)
        if job.get_status(refresh=False) not in ENDED:
            return False
        job.delete(remove_from_queue=True)
    except NoSuchJobError:
        pass
    shutil.rmtree(settings.outputs_dir / job_id, ignore_errors=True)
    shutil.rmtree(settings.data_dir / "inputs" / job_id, ignore_errors=True)
    redis.delete(progress_key(job_id), events_key(job_id), cancel_key(job_id))
    remove_job(redis, settings.queue_name, job_id)
    return True


def _usage(outputs: Path) -> tuple[int, int]:
    total, folders = 0, 0
    if not outputs.is_dir():
        return 0, 0
    for folder in outputs.iterdir():
        if folder.is_dir():
            folders += 1
            total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return total, folders


def sweep(redis: Redis, settings: Settings, now: float | None = None) -> SweepReport:
    now = time.time() if now is None else now
    cutoff = now - settings.retention_seconds
    index = jobs_index_key(settings.queue_name)
    deleted = [
        job_id
        for job_id in (raw.decode() for raw in redis.zrangebyscore(index, "-inf", cutoff))  # type: ignore[union-attr]
        if _delete_job(redis, settings, job_id)
    ]
    outputs = settings.outputs_dir
    for root in (outputs, settings.data_dir / "inputs"):  # job folders no record knows (a submit that failed)
        if not root.is_dir():
            continue
        for folder in root.iterdir():
            known = redis.zscore(index, folder.name) is not None
            if folder.is_dir() and is_job_id(folder.name) and not known and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                if folder.name not in deleted:
                    deleted.append(folder.name)
    uploads = settings.data_dir / "uploads"
    if uploads.is_dir():
        for upload in uploads.glob("upl_*.png"):
            if upload.stat().st_mtime < cutoff:
                upload.unlink(missing_ok=True)
    size, folders = _usage(outputs)
    StorageUsage(bytes=size, folders=folders, swept_at=now).write(redis, settings.queue_name)
    if deleted:
        log.info(
            "retention sweep deleted %d job(s); outputs use %d bytes in %d folders",
            len(deleted),
            size,
            folders,
        )
    return SweepReport(deleted, size, folders)
