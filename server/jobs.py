"""Jobs as the API sees them: submit to RQ, read status/progress/results, cancel, list, locate files.

All methods are synchronous (redis-py and RQ are); the async routes call them in the thread pool.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus

from auth.principal import ANONYMOUS_ADMIN, Principal
from models.registry import ModelRegistry
from schemas.errors import PROBLEM_TYPE_BASE, FieldPath, NotFound, Problem, RequestInvalid, body_loc
from schemas.generation import AnyRequest, ControlNetRequest, Txt2ImgRequest
from schemas.jobs import (
    CancelResult,
    ImageView,
    JobAccepted,
    JobPage,
    JobPayload,
    JobResult,
    JobStatus,
    JobTimingsView,
    JobView,
    Progress,
    QueueView,
    Validation,
    input_folder,
    is_job_id,
)
from schemas.keys import (
    RQ_SERIALIZER,
    RUN_JOB_TASK,
    Event,
    cancel_key,
    job_owners_key,
    jobs_index_key,
    owner_jobs_key,
)
from schemas.models import Arch, ModelEntry, ModelType
from schemas.settings import Settings
from schemas.upscale import AnyJobRequest, UpscaleRequest, is_resampler
from schemas.upscalers import check_passes
from server.cache import RequestKeys, finish_from_cache, is_deterministic
from server.inputs import InputStore
from server.queue import QueueState
from server.safety import PromptFilter
from store.cache import CacheStore
from store.events import publish_event
from store.job_index import add_job, newest_ids
from store.progress import ProgressRecord
from store.upscaler_factors import known_factor

API_PREFIX = "/api/v1"
LIST_BATCH = 100  # job records fetched per round trip while listing
FAMILIES = {Arch.SD1, Arch.SD2, Arch.SDXL}  # LoRAs of one family do not fit models of another

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


def _job_url(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _unsigned(path: str) -> str:
    return path


def job_status(job: Job) -> JobStatus:
    """A job's status as the API names it (as last fetched)."""
    return _STATUS_MAP.get(job.get_status(refresh=False), JobStatus.QUEUED)


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


def _check_family(what: str, entry: ModelEntry, checkpoint: ModelEntry, field: FieldPath) -> None:
    """An add-on of one family (sd1, sd2, sdxl) does not fit a checkpoint of another; unknown archs pass."""
    if {entry.arch, checkpoint.arch} <= FAMILIES and entry.arch is not checkpoint.arch:
        raise RequestInvalid.for_field(
            body_loc(field),
            f"{what} {entry.name!r} is for {entry.arch.value}; model {checkpoint.name!r} is {checkpoint.arch.value}",
        )


class JobService:
    def __init__(
        self, settings: Settings, redis: Redis, registry: ModelRegistry, sign_url: Callable[[str], str] = _unsigned
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.registry = registry
        self.inputs = InputStore(settings, redis, factor_of=lambda name: self.upscaler_factor(name, "upscaler"))
        self.queue = QueueState(settings, redis)
        self.sign_url = sign_url
        self.metrics = self.queue.metrics
        self.keys = RequestKeys(settings, redis, registry)
        self.cache = CacheStore.for_settings(settings, redis)
        self.prompts = PromptFilter(settings)
        self._owner_index_ready = False

    # -- submit -------------------------------------------------------------------------------------
    def validate(self, request: AnyJobRequest, principal: Principal = ANONYMOUS_ADMIN) -> Validation:
        """Every check a submit makes beyond the schema: the prompt filter, the model, each LoRA and ControlNet
        (exists, fits the model), the VAE, the upscalers, and the input images. ``model`` is the checkpoint a
        generation runs on, or the upscaler of an upscale."""
        self.prompts.plan(request, principal, None)
        return Validation(model=self._model_of(request), request=self.inputs.prepare(request, principal.name, None))

    def _model_of(self, request: AnyJobRequest) -> str:
        if isinstance(request, UpscaleRequest):
            return self._upscaler(request.upscaler, "upscaler")
        return self._check_generation(request)

    def _check_generation(self, request: AnyRequest) -> str:
        """The checkpoint of a generation request, after checking its VAE, LoRAs, ControlNets and hires upscaler."""
        checkpoint = self.registry.resolve_checkpoint(request.model, self.settings.default_model)
        if checkpoint.inpaint and request.mode != "inpaint":
            raise RequestInvalid.for_field(
                ["body", "model"],
                f"{checkpoint.name!r} is an inpainting model (9-channel UNet): use it with /api/v1/generate/inpaint",
            )
        if request.vae is not None:
            vae = self.registry.find(ModelType.VAE, request.vae, "vae")
            if vae.format != "diffusers":
                raise RequestInvalid.for_field(["body", "vae"], "only diffusers-folder VAEs load in this version")
        _, loras = request.all_loras()
        for index, lora in enumerate(loras):
            entry = self.registry.find(ModelType.LORA, lora.name, "loras")
            _check_family("LoRA", entry, checkpoint, ("loras", index, "name"))
        if isinstance(request, ControlNetRequest):
            for index, unit in enumerate(request.controlnets):
                field = ("controlnets", index, "controlnet")
                entry = self.registry.find(ModelType.CONTROLNET, unit.controlnet, field)
                if entry.format != "diffusers":
                    raise RequestInvalid.for_field(
                        body_loc(field),
                        f"ControlNet {unit.controlnet!r} is a single .{entry.format} file; this version loads "
                        "diffusers folders (config.json + weights) only",
                    )
                _check_family("ControlNet", entry, checkpoint, field)
        if isinstance(request, Txt2ImgRequest) and request.hires_size is not None:
            self._upscaler(request.hr_upscaler, "hr_upscaler")
            self._check_hires_passes(request, request.hires_size)
        return checkpoint.name

    def _upscaler(self, name: str, field: str) -> str:
        """A built-in resampler, or a valid model in models/upscalers/ (ModelNotFound naming ``field``)."""
        if not is_resampler(name):
            self.registry.find(ModelType.UPSCALER, name, field)
        return name

    def upscaler_factor(self, name: str, field: str) -> tuple[int, str] | None:
        """A model upscaler's factor where known (see ``schemas.upscalers``); None for a resampler or unknown."""
        if is_resampler(name):
            return None
        return known_factor(self.redis, self.registry.find(ModelType.UPSCALER, name, field))

    def _check_hires_passes(self, request: Txt2ImgRequest, target: tuple[int, int]) -> None:
        """Every model pass of the hires fix within SDQ_MAX_UPSCALE_PIXELS, where the model's factor is known."""
        known = self.upscaler_factor(request.hr_upscaler, "hr_upscaler")
        if known is not None:
            size, limit = (request.width, request.height), self.settings.max_upscale_pixels
            check_passes(size, target, known[0], limit, request.hr_upscaler, ("hr_upscaler", "hr_scale"), known[1])

    def submit(self, request: AnyJobRequest, principal: Principal = ANONYMOUS_ADMIN) -> JobAccepted:
        """Queue the request; a result-cache hit is answered at once with a job that already finished."""
        owner = principal.name
        safety = self.prompts.plan(request, principal, self.metrics)
        model = self._model_of(request)
        job_id = uuid.uuid4().hex
        request = self.inputs.prepare(request, owner, job_id)  # images checked (URLs fetched) once, then written
        submitted = datetime.now(UTC)
        key = self.keys.key(request, model) if self.settings.cache_enabled and is_deterministic(request) else None
        payload = JobPayload(
            job_id=job_id,
            model=model,
            request=request,
            owner=owner,
            submitted_at=submitted,
            cache_key=key,
            safety=safety,
        )
        if key is not None and not request.force_regenerate:
            hit = self._from_cache(payload, key)
            if hit is not None:
                return hit
        queue = self.queue.queue_for(request.priority)
        ttl = self.settings.retention_seconds
        add_job(self.redis, self.settings.queue_name, job_id, owner, submitted.timestamp())
        queue.enqueue_call(
            RUN_JOB_TASK,
            args=(payload.model_dump(mode="json"),),
            job_id=job_id,
            timeout=self.settings.job_timeout,
            result_ttl=ttl,
            failure_ttl=ttl,
            ttl=ttl,
            description=f"{request.mode} {model}",
            meta={"owner": owner, "mode": request.mode, "model": model},
        )
        position = self.queue.position(job_id, queue.name)
        publish_event(self.redis, job_id, Event.QUEUED, {"position": position}, ttl)
        self.metrics.count("jobs_submitted", mode=request.mode)
        return JobAccepted(id=job_id, position=position, links={"self": _job_url(job_id)})

    def _from_cache(self, payload: JobPayload, key: str) -> JobAccepted | None:
        """A finished job from the cache, or None (then noting whether an identical job is already on its way)."""
        entry = self.cache.lookup(key)
        if entry is None:
            pending = not self.cache.mark_pending(key, payload.job_id)
            self.metrics.count("cache_requests", result="attached" if pending else "miss")
            return None
        queue = self.queue.queue_for(payload.request.priority)
        finish_from_cache(self.settings, self.redis, payload, entry, queue.name)
        self.metrics.count("cache_requests", result="hit")
        self.metrics.count("jobs_submitted", mode=payload.request.mode)
        self.metrics.count("jobs", mode=payload.request.mode, status="finished")
        shutil.rmtree(input_folder(self.settings.data_dir, payload.job_id), ignore_errors=True)  # not needed
        return JobAccepted(
            id=payload.job_id,
            status=JobStatus.FINISHED,
            position=None,
            cached=True,
            links={"self": _job_url(payload.job_id)},
        )

    # -- read ---------------------------------------------------------------------------------------
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
                url=self.sign_url(f"{_job_url(job.id)}/images/{rec.index}"),
                thumbnail_url=self.sign_url(f"{_job_url(job.id)}/images/{rec.index}/thumbnail"),
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
        finished = job.get_status(refresh=False) == RQStatus.FINISHED
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
        if self._owner_index_ready:
            return
        queue = self.settings.queue_name
        marker = f"{jobs_index_key(queue)}:owner-index"
        if not self.redis.exists(marker):
            members: Any = self.redis.zrange(jobs_index_key(queue), 0, -1, withscores=True)
            indexed: Any = self.redis.hkeys(job_owners_key(queue))
            known = {raw.decode() for raw in indexed}
            missing = [(raw.decode(), score) for raw, score in members if raw.decode() not in known]
            for begin in range(0, len(missing), LIST_BATCH):
                chunk = missing[begin : begin + LIST_BATCH]
                jobs = Job.fetch_many([job_id for job_id, _ in chunk], connection=self.redis, serializer=RQ_SERIALIZER)
                with self.redis.pipeline() as pipe:
                    for (job_id, score), job in zip(chunk, jobs, strict=True):
                        if job is not None and job.meta.get("owner"):
                            add_job(pipe, queue, job_id, str(job.meta["owner"]), score)
                    pipe.execute()
            self.redis.set(marker, 1)
        self._owner_index_ready = True

    # -- control ------------------------------------------------------------------------------------
    def cancel(self, job: Job) -> CancelResult:
        """Queued: leaves the queue now. Started: the worker stops it at its next step. Ended: unchanged."""
        job_id = job.id
        status = job_status(job)
        if status.is_terminal:
            return CancelResult(id=job_id, status=status, detail=f"the job had already ended {status.value}")
        if status is JobStatus.QUEUED and self.queue.cancel_queued(job):
            self.metrics.count("jobs", mode=str(job.meta.get("mode", "")), status="canceled")
            return CancelResult(id=job_id, status=JobStatus.CANCELED, detail="removed from the queue")
        self.redis.set(cancel_key(job_id), 1, ex=self.settings.retention_seconds)
        return CancelResult(id=job_id, status=JobStatus.STARTED, detail="the worker stops the job at its next step")

    def queued_count(self, owner: str) -> int:
        return sum(1 for job in self.queue.queued_jobs(limit=10_000) if job.owner == owner)

    def clear_queue(self) -> int:
        return self.queue.clear()

    def queue_view(self, owner: str | None) -> QueueView:
        """Counts and workers for everyone; the queued jobs of ``owner`` (None: all), with global positions."""
        workers = self.queue.workers()
        return QueueView(
            counts=self.queue.counts(),
            workers_alive=len(workers),
            workers=workers,
            jobs=[j for j in self.queue.queued_jobs() if owner is None or j.owner == owner],
            storage=self.queue.storage(),
        )

    def readiness(self) -> tuple[bool, str]:
        try:
            return self.queue.readiness()
        except RedisError as exc:
            return False, f"redis unreachable: {exc}"
