"""Jobs as clients read them: fetch a job, its view (status, progress, result, image URLs), its files, and
listings. Synchronous (redis-py and RQ are); the async routes call it in the thread pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from schemas.errors import PROBLEM_TYPE_BASE, NotFound, Problem
from schemas.jobs import (
    ImageView,
    JobPage,
    JobPayload,
    JobResult,
    JobStatus,
    JobTimingsView,
    JobView,
    Progress,
    is_job_id,
)
from schemas.keys import RQ_SERIALIZER, RUN_JOB_TASK, jobs_index_key, owner_jobs_key
from schemas.settings import Settings
from server.queue import QueueState, job_status
from store.job_index import backfill_owner_index, newest_ids
from store.progress import ProgressRecord

API_PREFIX = "/api/v1"
LIST_BATCH = 100  # job records fetched per round trip while listing


def job_url(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _unsigned(path: str) -> str:
    return path


def fetch_task(redis: Redis, job_id: str, task: str, what: str) -> Job:
    """The RQ job ``job_id`` if it runs ``task`` (NotFound naming ``what`` otherwise): generation jobs and control
    operations never mix."""
    if not is_job_id(job_id):
        raise NotFound(f"no {what} {job_id!r}")
    try:
        job = Job.fetch(job_id, connection=redis, serializer=RQ_SERIALIZER)
    except NoSuchJobError as exc:
        raise NotFound(f"no {what} {job_id!r}") from exc
    if job.func_name != task:
        raise NotFound(f"no {what} {job_id!r}")
    return job


class JobViews:
    def __init__(
        self, settings: Settings, redis: Redis, queue: QueueState, sign_url: Callable[[str], str] = _unsigned
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.queue = queue
        self.sign_url = sign_url
        self._owner_index_ready = False

    def fetch(self, job_id: str) -> Job:
        return fetch_task(self.redis, job_id, RUN_JOB_TASK, "job")

    def view(self, job_id: str) -> JobView:
        job = self.fetch(job_id)
        return self.build_view(job)

    def status(self, job_id: str) -> JobStatus:
        job = self.fetch(job_id)
        return job_status(job)

    def build_view(self, job: Job) -> JobView:
        payload = JobPayload.model_validate(job.args[0])
        status = job_status(job)
        result = self._result(job) if status is JobStatus.FINISHED else None
        started, ended = _aware(job.started_at), _aware(job.ended_at)
        submitted = payload.submitted_at
        ended = ended if status.is_terminal else None
        images = [
            ImageView(
                index=rec.index,
                prompt_index=rec.prompt_index,
                seed=rec.seed,
                visible_watermark=rec.visible_watermark,
                invisible_watermark=rec.invisible_watermark,
                nsfw=rec.nsfw,
                width=rec.width,
                height=rec.height,
                url=self.sign_url(f"{job_url(job.id)}/images/{rec.index}"),
                thumbnail_url=self.sign_url(f"{job_url(job.id)}/images/{rec.index}/thumbnail"),
            )
            for rec in (result.images if result else [])
        ]
        return JobView(
            id=job.id,
            status=status,
            mode=payload.request.mode,
            model=payload.model,
            owner=payload.owner,
            priority=self.queue.priority_of(job.origin),
            position=self.queue.position(job.id, job.origin) if status is JobStatus.QUEUED else None,
            retries=int(job.meta.get("retries", 0)),
            progress=self._progress(job.id, payload, status),
            timings=JobTimingsView(
                submitted_at=submitted,
                started_at=started if status is not JobStatus.QUEUED else None,
                ended_at=ended,
                queued_seconds=_seconds(submitted, started if status is not JobStatus.QUEUED else None),
                run_seconds=_seconds(started, ended) if status is not JobStatus.QUEUED else None,
                worker=result.timings if result else None,
            ),
            request=payload.request,
            seeds=result.seeds if result else [],
            images=images,
            cached=bool(result and result.cached),
            safety=result.safety if result else None,
            error=self._error(job) if status is JobStatus.FAILED else None,
            request_id=job.meta.get("request_id"),
        )

    def _result(self, job: Job) -> JobResult | None:
        value = job.return_value()
        return JobResult.model_validate(value) if value is not None else None

    def _progress(self, job_id: str, payload: JobPayload, status: JobStatus) -> Progress:
        record = ProgressRecord.read(self.redis, job_id)
        total = record.total if record and record.total else payload.request.steps
        if status is JobStatus.QUEUED:
            return Progress(step=0, total=total)
        if status is JobStatus.FINISHED:
            return Progress(step=total, total=total, stage="done")
        running = status is JobStatus.STARTED
        return Progress(
            step=record.step if record else 0,
            total=total,
            stage=record.stage or None if record else None,
            eta_seconds=record.eta_seconds if record and running else None,
            its=record.its if record else None,
        )

    def _error(self, job: Job) -> Problem:
        stored = job.meta.get("error")
        if isinstance(stored, dict):
            return Problem.model_validate(stored)
        # The job died outside run_job's own handling: say what RQ recorded, never a traceback.
        last_line = (job.exc_info or "").strip().splitlines()[-1:] or ["the job failed"]
        return Problem(
            type=PROBLEM_TYPE_BASE + "generation_failed",
            title="Generation failed",
            status=500,
            detail=last_line[0][:500],
            code="generation_failed",
        )

    def image_path(self, job: Job, index: int, *, thumbnail: bool) -> Path:
        """The file of image ``index`` of a finished job; NotFound for anything else."""
        job_id = job.id
        finished = job_status(job) is JobStatus.FINISHED
        result = self._result(job) if finished else None
        records = {rec.index: rec for rec in (result.images if result else [])}
        if index not in records:
            raise NotFound(f"job {job_id} has no image {index}")
        folder = (self.settings.outputs_dir / job_id).resolve()
        relative = records[index].thumbnail if thumbnail else records[index].file
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise NotFound(f"image {index} of job {job_id} is no longer on disk")
        return path

    def list_jobs(
        self,
        owner: str | None,
        status: JobStatus | None,
        mode: str | None,
        since: datetime | None,
        page: int,
        limit: int,
    ) -> JobPage:
        """Newest first, filtered, in pages of ``limit``. ``owner`` None: everyone's (the global index); else read
        from the owner's own index, so a user's listing costs the same however many jobs other users keep."""
        if owner is not None:
            self._ensure_owner_index()
        queue = self.settings.queue_name
        key = jobs_index_key(queue) if owner is None else owner_jobs_key(queue, owner)
        low = since.timestamp() if since else "-inf"
        skip, wanted, start = (page - 1) * limit, limit + 1, 0
        items: list[JobView] = []
        while len(items) < wanted:
            ids = newest_ids(self.redis, key, low, start, LIST_BATCH)
            start += len(ids)
            for job in Job.fetch_many(ids, connection=self.redis, serializer=RQ_SERIALIZER):
                if job is None or (owner is not None and job.meta.get("owner") != owner):
                    continue
                view = self.build_view(job)
                if (status and view.status is not status) or (mode and view.mode != mode):
                    continue
                if skip:
                    skip -= 1
                    continue
                items.append(view)
                if len(items) == wanted:
                    break
            if len(ids) < LIST_BATCH:
                break
        return JobPage(items=items[:limit], page=page, limit=limit, has_more=len(items) > limit)

    def _ensure_owner_index(self) -> None:
        """Jobs submitted before the owner indexes existed are indexed by owner once (per queue, whichever API
        process lists first)."""
        if not self._owner_index_ready:
            backfill_owner_index(self.redis, self.settings.queue_name)
            self._owner_index_ready = True
