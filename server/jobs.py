"""Jobs as the API sees them: submit to RQ, read status/progress/results, locate output files.

All methods are synchronous (redis-py and RQ are); the async routes call them in the thread pool.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from models.registry import resolve_model_name
from schemas.errors import PROBLEM_TYPE_BASE, NotFound, Problem, Unavailable
from schemas.generation import Txt2ImgRequest
from schemas.jobs import (
    ImageView,
    JobAccepted,
    JobPayload,
    JobResult,
    JobStatus,
    JobTimingsView,
    JobView,
    Progress,
    QueueView,
    WorkerView,
)
from schemas.keys import RQ_SERIALIZER, RUN_JOB_TASK, WORKER_HEARTBEAT_PATTERN, progress_key
from schemas.settings import Settings

API_PREFIX = "/api/v1"

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


def is_job_id(value: str) -> bool:
    """Job ids are 32 lowercase hex digits (uuid4); anything else cannot name a job or a folder."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _job_url(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


class JobService:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.queue = Queue(settings.queue_name, connection=redis, serializer=RQ_SERIALIZER)

    # -- submit -------------------------------------------------------------------------------------
    def submit(self, request: Txt2ImgRequest, owner: str = "anonymous") -> JobAccepted:
        model = resolve_model_name(self.settings.models_dir, request.model, self.settings.default_model)
        job_id = uuid.uuid4().hex
        payload = JobPayload(
            job_id=job_id, model=model, request=request, owner=owner, submitted_at=datetime.now(UTC)
        )
        try:
            self.queue.enqueue_call(
                RUN_JOB_TASK,
                args=(payload.model_dump(mode="json"),),
                job_id=job_id,
                timeout=self.settings.job_timeout,
                result_ttl=self.settings.result_ttl,
                failure_ttl=self.settings.result_ttl,
                description=f"{request.mode} {model} x{request.batch_size}",
                meta={"owner": owner, "mode": request.mode, "model": model},
            )
            position = self.queue.get_job_position(job_id)
        except RedisError as exc:
            raise Unavailable(f"cannot reach Redis: {exc}") from exc
        return JobAccepted(
            id=job_id, position=None if position is None else position + 1, links={"self": _job_url(job_id)}
        )

    # -- read ---------------------------------------------------------------------------------------
    def _fetch(self, job_id: str) -> Job:
        if not is_job_id(job_id):
            raise NotFound(f"no job {job_id!r}")
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=RQ_SERIALIZER)
        except NoSuchJobError as exc:
            raise NotFound(f"no job {job_id!r}") from exc
        except RedisError as exc:
            raise Unavailable(f"cannot reach Redis: {exc}") from exc

    def view(self, job_id: str) -> JobView:
        job = self._fetch(job_id)
        try:
            return self._build_view(job)
        except RedisError as exc:
            raise Unavailable(f"cannot reach Redis: {exc}") from exc

    def _build_view(self, job: Job) -> JobView:
        payload = JobPayload.model_validate(job.args[0])
        status = _STATUS_MAP.get(job.get_status(refresh=False), JobStatus.QUEUED)
        result = self._result(job) if status is JobStatus.FINISHED else None
        started, ended = _aware(job.started_at), _aware(job.ended_at)
        submitted = payload.submitted_at
        position = self.queue.get_job_position(job.id) if status is JobStatus.QUEUED else None
        images = [
            ImageView(
                index=rec.index,
                seed=rec.seed,
                width=rec.width,
                height=rec.height,
                url=f"{_job_url(job.id)}/images/{rec.index}",
                thumbnail_url=f"{_job_url(job.id)}/images/{rec.index}/thumbnail",
            )
            for rec in (result.images if result else [])
        ]
        return JobView(
            id=job.id,
            status=status,
            mode=payload.request.mode,
            model=payload.model,
            position=None if position is None else position + 1,
            progress=self._progress(job.id, payload, status),
            timings=JobTimingsView(
                submitted_at=submitted,
                started_at=started,
                ended_at=ended if status.is_terminal else None,
                queued_seconds=_seconds(submitted, started),
                run_seconds=_seconds(started, ended if status.is_terminal else None),
                worker=result.timings if result else None,
            ),
            request=payload.request,
            seeds=result.seeds if result else [],
            images=images,
            error=self._error(job) if status is JobStatus.FAILED else None,
        )

    def _result(self, job: Job) -> JobResult | None:
        value = job.return_value()
        return JobResult.model_validate(value) if value is not None else None

    def _progress(self, job_id: str, payload: JobPayload, status: JobStatus) -> Progress:
        raw: dict[bytes, bytes] = self.redis.hgetall(progress_key(job_id))  # type: ignore[assignment]
        data = {k.decode(): v.decode() for k, v in raw.items()}
        total = int(data.get("total") or payload.request.steps)
        step = int(data.get("step") or 0)
        if status is JobStatus.FINISHED:
            step = total
        return Progress(step=step, total=total, stage=data.get("stage") or None)

    def _error(self, job: Job) -> Problem:
        stored = job.meta.get("error")
        if isinstance(stored, dict):
            return Problem.model_validate(stored)
        # The job died outside run_job's own handling (timeout, lost worker): say what RQ recorded.
        last_line = (job.exc_info or "").strip().splitlines()[-1:] or ["the job failed"]
        return Problem(
            type=PROBLEM_TYPE_BASE + "generation_failed",
            title="Generation failed",
            status=500,
            detail=last_line[0][:500],
            code="generation_failed",
        )

    def image_path(self, job_id: str, index: int, *, thumbnail: bool) -> Path:
        """The file of image ``index`` of a finished job; NotFound for anything else."""
        job = self._fetch(job_id)
        result = self._result(job) if job.get_status(refresh=False) == RQStatus.FINISHED else None
        records = {rec.index: rec for rec in (result.images if result else [])}
        if index not in records:
            raise NotFound(f"job {job_id} has no image {index}")
        folder = (self.settings.outputs_dir / job_id).resolve()
        relative = records[index].thumbnail if thumbnail else records[index].file
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise NotFound(f"image {index} of job {job_id} is no longer on disk")
        return path

    # -- queue and health ---------------------------------------------------------------------------
    def workers(self) -> list[WorkerView]:
        """Workers of this queue with a live heartbeat (keys expire ``worker_heartbeat_ttl`` after it)."""
        views = []
        for key in self.redis.scan_iter(match=WORKER_HEARTBEAT_PATTERN, count=100):
            raw: dict[bytes, bytes] = self.redis.hgetall(key)  # type: ignore[assignment]
            data: dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
            if data.get("queue") != self.settings.queue_name:
                continue  # a worker of another queue (or a key that expired meanwhile)
            views.append(
                WorkerView(
                    name=data.get("name", ""),
                    device=data.get("device") or None,
                    pid=int(data["pid"]) if data.get("pid") else None,
                    current_job=data.get("current_job") or None,
                    models_loaded=[m for m in data.get("models_loaded", "").split(",") if m],
                )
            )
        return sorted(views, key=lambda w: w.name)

    def queue_view(self) -> QueueView:
        try:
            counts = {
                JobStatus.QUEUED: self.queue.count,
                JobStatus.STARTED: StartedJobRegistry(queue=self.queue).count,
                JobStatus.FINISHED: FinishedJobRegistry(queue=self.queue).count,
                JobStatus.FAILED: FailedJobRegistry(queue=self.queue).count,
                JobStatus.CANCELED: CanceledJobRegistry(queue=self.queue).count,
            }
            workers = self.workers()
        except RedisError as exc:
            raise Unavailable(f"cannot reach Redis: {exc}") from exc
        return QueueView(counts=counts, workers_alive=len(workers), workers=workers)

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason): Redis answers and at least one worker heartbeat is live."""
        try:
            started = time.perf_counter()
            self.redis.ping()
            latency_ms = (time.perf_counter() - started) * 1000
            workers = self.workers()
        except RedisError as exc:
            return False, f"redis unreachable: {exc}"
        if not workers:
            return False, "no worker heartbeat"
        return True, f"redis ok ({latency_ms:.1f} ms), {len(workers)} worker(s)"
