"""Job records: what the API enqueues, what the worker returns, what clients read."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.errors import Problem
from schemas.keys import Priority
from schemas.requests import JobRequest
from schemas.safety import SafetyPlan, SafetyReport


def input_image_path(data_dir: Path, job_id: str, field: str) -> Path:
    """Where the API writes a job's prepared input image and the worker reads it (names never from a request)."""
    return input_folder(data_dir, job_id) / f"{field}.png"


def input_folder(data_dir: Path, job_id: str) -> Path:
    return data_dir / "inputs" / job_id


def upload_image_path(data_dir: Path, upload_id: str) -> Path:
    """Where an upload (``upl_<32 hex>``, a name the API generated) is stored."""
    return data_dir / "uploads" / f"{upload_id}.png"


def is_job_id(value: str) -> bool:
    """Job ids are 32 lowercase hex digits (uuid4); anything else cannot name a job or a folder."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


class JobStatus(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED)


class JobPayload(BaseModel):
    """The one argument of ``worker.tasks.run_job``: the validated request with the model resolved."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    model: str
    request: JobRequest
    owner: str = "anonymous"
    submitted_at: datetime
    cache_key: str | None = None  # set for cacheable requests: the worker links a cached result or adds one
    safety: SafetyPlan = Field(default_factory=SafetyPlan)


class ImageRecord(BaseModel):
    """One image the worker wrote, relative to the job's output folder."""

    index: int
    seed: int
    width: int
    height: int
    file: str
    thumbnail: str
    prompt_index: int = 0
    visible_watermark: bool = False
    invisible_watermark: bool = False
    nsfw: bool = False


class WorkerTimings(BaseModel):
    load_seconds: float = Field(description="Model lookup/load (0 when already resident).")
    generate_seconds: float = Field(description="Denoising and decoding.")
    save_seconds: float = Field(description="PNG, thumbnails and job.json.")


class JobResult(BaseModel):
    """What ``run_job`` returns (stored by RQ as JSON) and writes to job.json."""

    images: list[ImageRecord]
    seeds: list[int]
    model: str
    device: str
    timings: WorkerTimings
    cached: bool = False
    safety: SafetyReport | None = None


def finished_record(payload: JobPayload, result: JobResult) -> dict[str, Any]:
    """What a finished job's ``job.json`` holds: who asked for what, and the result."""
    return {
        "id": payload.job_id,
        "status": "finished",
        "owner": payload.owner,
        "model": payload.model,
        "request": payload.request.model_dump(mode="json"),
        "submitted_at": payload.submitted_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        **result.model_dump(mode="json"),
    }


class Progress(BaseModel):
    step: int = Field(0, description="Denoising steps done.")
    total: int = Field(0, description="Denoising steps in all.")
    stage: str | None = Field(None, description="loading | denoising | saving.")
    eta_seconds: float | None = Field(None, description="Expected seconds to the end of denoising.")
    its: float | None = Field(None, description="Denoising steps per second so far.")


class ImageView(BaseModel):
    index: int
    prompt_index: int = Field(0, description="Which prompt of a prompt batch made it (0 without a batch).")
    seed: int
    width: int
    height: int
    visible_watermark: bool = Field(False, description="A visible text watermark was drawn on it.")
    invisible_watermark: bool = Field(
        False, description="It carries the server's invisible watermark (images of 256x256 pixels and up)."
    )
    nsfw: bool = Field(False, description="The image safety checker flagged it: it was replaced by a black image.")
    url: str = Field(description="PNG with AUTOMATIC1111 'parameters' text chunk.")
    thumbnail_url: str = Field(description="WebP, longest side = thumbnail_size setting.")


class JobTimingsView(BaseModel):
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    queued_seconds: float | None = Field(None, description="From submit to start (so far, while queued).")
    run_seconds: float | None = Field(None, description="From start to end (so far, while running).")
    worker: WorkerTimings | None = None


class JobView(BaseModel):
    """A job as clients see it (``GET /api/v1/jobs/{id}``)."""

    id: str
    status: JobStatus
    mode: str
    model: str
    owner: str
    priority: Priority
    position: int | None = Field(None, description="1 = next to run; null unless queued.")
    retries: int = Field(0, description="Times the job was re-queued because its worker died.")
    progress: Progress
    timings: JobTimingsView
    request: JobRequest
    seeds: list[int] = Field(default_factory=list, description="Concrete seeds, once the job finished.")
    images: list[ImageView] = Field(default_factory=list)
    cached: bool = Field(False, description="Its images came from the result cache (an identical earlier request).")
    safety: SafetyReport | None = Field(None, description="What the safety checks found and did (once finished).")
    error: Problem | None = Field(None, description="Why the job failed (problem details).")
    request_id: str | None = Field(
        None, description="The X-Request-ID of the submit (given by the client or made by the API), for log searches."
    )


class JobAccepted(BaseModel):
    """Answer to a submit: the job is queued."""

    id: str
    status: JobStatus = JobStatus.QUEUED
    position: int | None = Field(description="1 = next to run; null for a cache hit (already finished).")
    cached: bool = Field(False, description="A result-cache hit: the job finished at once (HTTP 200, not 202).")
    links: dict[str, str] = Field(description="self: where to poll the job.")


class WorkerView(BaseModel):
    name: str = Field(description="Unique per process: <host>.<device>.<pid>.<random>.")
    version: str | None = Field(None, description="The worker's sdqueue version; it runs jobs of its release only.")
    payload_version: int | None = Field(None, description="The job payload version this worker reads.")
    jobs_done: int = Field(0, description="Jobs this worker ended (finished, failed or canceled) since it started.")
    draining: bool = Field(False, description="Finishing its current job, then exiting; it takes no new one.")
    device: str | None = Field(None, description="Device and dtype, e.g. cuda:1/float16.")
    previews: str | None = Field(None, description="taesd, approximation or off.")
    pid: int | None = None
    current_job: str | None = None
    models_loaded: list[str] = Field(default_factory=list)
    policy: dict[str, Any] = Field(
        default_factory=dict, description="Effective device policy: dtype, attention, slicing, tiling, offload, notes."
    )
    gpu: dict[str, Any] | None = Field(
        None,
        description="CUDA only: name, index, memory_used_bytes, memory_total_bytes, utilization (0..1, with NVML).",
    )
    features: dict[str, Any] = Field(
        default_factory=dict, description="Optional parts and whether they work on this worker (invisible_watermark)."
    )
    model_memory: dict[str, Any] = Field(
        default_factory=dict, description="used_bytes, budget_bytes, loads, hits, evictions, last_load_seconds, events"
    )


class QueuedJob(BaseModel):
    id: str
    position: int = Field(description="1 = next to run.")
    priority: Priority
    mode: str
    model: str
    owner: str
    submitted_at: datetime | None = None


class StorageView(BaseModel):
    bytes: int | None = Field(None, description="Bytes under the outputs folder at the last sweep.")
    folders: int | None = Field(None, description="Job output folders at the last sweep.")
    swept_at: datetime | None = Field(None, description="When the last retention sweep ran.")


class QueueView(BaseModel):
    counts: dict[JobStatus, int] = Field(description="Jobs known to Redis, per status.")
    workers_alive: int
    workers: list[WorkerView]
    jobs: list[QueuedJob] = Field(description="Queued jobs in the order they will run.")
    storage: StorageView


class JobPage(BaseModel):
    items: list[JobView]
    page: int
    limit: int
    has_more: bool


class CancelResult(BaseModel):
    id: str
    status: JobStatus = Field(description="canceled, or the terminal status the job had already reached.")
    detail: str


class ClearResult(BaseModel):
    canceled: int = Field(description="Queued jobs canceled.")


class Estimate(BaseModel):
    seconds: float | None = Field(description="Expected run time; null when there is no data.")
    basis: str = Field(description="measured (this model and size), scaled (this model, other size) or none.")
    detail: str
    queued_ahead: int | None = Field(None, description="Jobs queued now at this request's priority or higher.")
    workers_alive: int | None = Field(None, description="Live workers sharing that queue.")
    wait_seconds: float | None = Field(
        None,
        description="Rough wait before it would start: the jobs ahead, shared by the live workers, each taken to "
        "last as long as this one; null without a measurement or without a live worker.",
    )


class Validation(BaseModel):
    valid: bool = True
    model: str = Field(description="The model the request would run on.")
    request: JobRequest
