"""The result cache at submit: the canonical key of a request, and a hit turned into a finished job of the caller's.

The key is the sha256 of a canonical JSON of everything that changes pixels: the request's fields (not
``priority`` or ``force_regenerate``), every model it names by content hash (checkpoint, VAE, LoRAs, upscaler,
embeddings mentioned in the prompts), its input images by content hash, the visible watermark as it will be drawn,
the invisible watermark, the safety settings and the device settings. Only requests with an explicit seed are
cacheable (upscales have no randomness and always are).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import FinishedJobRegistry
from rq.results import Result

from models.hashing import compute_sha256, content_sha256
from models.modes import handler_for
from models.registry import ModelRegistry
from schemas.jobs import JobPayload, JobResult
from schemas.keys import RQ_SERIALIZER, RUN_JOB_TASK, Event
from schemas.models import ModelType
from schemas.requests import AnyJobRequest, is_resampler, mentions
from schemas.settings import Settings
from schemas.version import VERSION
from server.images import UPLOAD_ID, upload_path
from store.cache import CacheEntry, take_entry
from store.events import publish_event
from store.job_index import add_job

KEY_VERSION = 1
NOT_PIXELS = {"priority", "force_regenerate", "watermark"}
MODEL_FIELDS = {
    "vae": ModelType.VAE,
    "hr_upscaler": ModelType.UPSCALER,
    "upscaler": ModelType.UPSCALER,
    "controlnet": ModelType.CONTROLNET,
}
SETTING_PREFIXES = ("safety", "detoxify", "nsfw", "device", "precision", "attention", "invisible_watermark")


def _unused(request: AnyJobRequest) -> set[str]:
    """Fields that cannot change this request's pixels: the always-ignored ones and the mode's (see
    :meth:`models.modes.ModeHandler.unused_fields`)."""
    return NOT_PIXELS | handler_for(request).unused_fields(request)


def is_deterministic(request: AnyJobRequest) -> bool:
    """Whether the request always gives the same pixels: an explicit seed (upscales have no randomness)."""
    return handler_for(request).is_deterministic(request)


class RequestKeys:
    """Builds cache keys; model and image hashes are computed once per file (cached by path, size, mtime)."""

    def __init__(self, settings: Settings, redis: Redis, registry: ModelRegistry) -> None:
        self.settings = settings
        self.redis = redis
        self.registry = registry

    def key(self, request: AnyJobRequest, model: str) -> str:
        fields = self._resolve(request.model_dump(mode="json", exclude=_unused(request)), None)
        generates = handler_for(request).generates
        canonical = {
            "v": [KEY_VERSION, VERSION],
            "request": fields,
            "model": self._model_hash(ModelType.CHECKPOINT, model) if generates else model,
            "embeddings": self._embeddings(request) if generates else {},
            "watermark": self._watermark(request) if generates else None,
            "settings": {
                name: value
                for name, value in self.settings.model_dump(mode="json").items()
                if name.startswith(SETTING_PREFIXES)
            },
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def _resolve(self, value: Any, field: str | None) -> Any:
        """Upload ids become their image's sha256, model names their content hash; the rest stays."""
        if isinstance(value, dict):
            return {name: self._resolve(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self._resolve(item, field) for item in value]
        if isinstance(value, str) and UPLOAD_ID.fullmatch(value):
            return "sha256:" + compute_sha256(self.redis, upload_path(self.settings, value))
        if isinstance(value, str) and field in MODEL_FIELDS and not is_resampler(value):
            return self._model_hash(MODEL_FIELDS[field], value)
        if isinstance(value, str) and field == "name":  # loras[].name
            return self._model_hash(ModelType.LORA, value)
        return value

    def _model_hash(self, kind: ModelType, name: str) -> str:
        entry = self.registry.find(kind, name, "model")
        if entry.format == "hub":
            return f"hub:{entry.path}"
        return "sha256:" + content_sha256(self.redis, self.registry.models_dir / entry.path)

    def _embeddings(self, request: Any) -> dict[str, str]:
        text = " ".join([request.prompt, request.negative_prompt, *getattr(request, "prompts", [])])
        return {
            entry.name: self._model_hash(ModelType.EMBEDDING, entry.name)
            for entry in self.registry.entries()
            if entry.type is ModelType.EMBEDDING and entry.status == "valid" and mentions(entry.name, text)
        }

    def _watermark(self, request: Any) -> dict[str, Any] | None:
        mark = self.settings.visible_mark(request.watermark)
        return mark.model_dump(mode="json") if mark is not None else None


def finish_from_cache(
    settings: Settings, redis: Redis, payload: JobPayload, entry: CacheEntry, queue_name: str
) -> JobResult:
    """Record ``payload`` as a job that finished at once with the cached entry's images (hard links in its own
    folder); the worker is not involved. Returns its result."""
    result = take_entry(settings.outputs_dir, payload, entry)
    now = datetime.now(UTC)
    ttl = settings.retention_seconds
    job = Job.create(
        RUN_JOB_TASK,
        args=(payload.model_dump(mode="json"),),
        id=payload.job_id,
        connection=redis,
        serializer=RQ_SERIALIZER,
        result_ttl=ttl,
        ttl=ttl,
        failure_ttl=ttl,
        status=RQStatus.FINISHED,
        origin=queue_name,
        description=f"{payload.request.mode} {payload.model} (cached)",
        meta={"owner": payload.owner, "mode": payload.request.mode, "model": payload.model, "cached": True},
    )
    job.enqueued_at = job.started_at = job.ended_at = now
    with redis.pipeline() as pipe:
        job.save(pipeline=pipe)
        Result.create(job, Result.Type.SUCCESSFUL, ttl=ttl, return_value=result.model_dump(mode="json"), pipeline=pipe)
        FinishedJobRegistry(queue_name, connection=redis, serializer=RQ_SERIALIZER).add(job, ttl, pipeline=pipe)
        add_job(pipe, settings.queue_name, payload.job_id, payload.owner, payload.submitted_at.timestamp())
        pipe.execute()
    publish_event(redis, payload.job_id, Event.FINISHED, {}, ttl)
    return result
