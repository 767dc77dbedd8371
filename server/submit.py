"""Submitting a job: the submit policy (priority by role, rate, queued jobs per principal), the prompt filter, the
model checks, the input images, the result cache, and the enqueue. One call, so a submit makes one thread-pool hop.
Synchronous (redis-py and RQ are)."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime

from redis import Redis
from rq.job import Job

from auth.principal import ANONYMOUS_ADMIN, Principal
from auth.service import AuthService
from schemas.errors import FieldError, Forbidden, TooManyRequests, body_loc
from schemas.jobs import JobAccepted, JobPayload, JobStatus, Validation, input_folder
from schemas.keys import RQ_SERIALIZER, RUN_JOB_TASK, Event, Priority
from schemas.requests import AnyJobRequest
from schemas.scheduling import PAYLOAD_VERSION
from schemas.settings import Settings
from schemas.version import VERSION
from server.cache import RequestKeys, finish_from_cache, is_deterministic
from server.inputs import InputStore
from server.model_checks import ModelChecks
from server.queue import QueueState
from server.safety import PromptFilter
from server.views import job_url
from store import logs
from store.cache import CacheStore
from store.events import publish_event
from store.job_index import add_job


class SubmitService:
    def __init__(
        self,
        auth: AuthService,
        redis: Redis,
        checks: ModelChecks,
        queue: QueueState,
        inputs: InputStore,
        cache: CacheStore,
    ) -> None:
        self.auth = auth
        self.settings: Settings = auth.settings
        self.redis = redis
        self.checks = checks
        self.queue = queue
        self.inputs = inputs
        self.cache = cache
        self.metrics = queue.metrics
        self.keys = RequestKeys(self.settings, redis, checks.registry)
        self.prompts = PromptFilter(self.settings)

    def _enforce_policy(self, request: AnyJobRequest, principal: Principal) -> None:
        """With auth on: priority ``high`` only for its roles, submissions per minute, queued jobs per principal."""
        settings = self.settings
        if not self.auth.enabled:
            return
        if request.priority is Priority.HIGH and not set(principal.roles) & set(settings.high_priority_roles):
            reason = "priority 'high' is reserved for: " + ", ".join(settings.high_priority_roles)
            raise Forbidden(reason, [FieldError(loc=body_loc("priority"), msg=reason, type="insufficient_scope")])
        self.auth.limits.hit(f"submit:{principal.name}", settings.submit_per_minute, 60)
        queued = self.queue.queued_count(principal.name)
        if queued >= settings.max_queued_per_user:
            raise TooManyRequests(
                f"{queued} of your jobs are already queued (limit {settings.max_queued_per_user})", 10
            )

    def validate(self, request: AnyJobRequest, principal: Principal = ANONYMOUS_ADMIN) -> Validation:
        """Every check a submit makes beyond the schema: the prompt filter, the model, each LoRA and ControlNet
        (exists, fits the model), the VAE, the upscalers, and the input images. ``model`` is the checkpoint a
        generation runs on, or the upscaler of an upscale."""
        self.prompts.plan(request, principal, None)
        model = self.checks.model_of(request)
        request = self.checks.fit_family(request, model)
        return Validation(model=model, request=self.inputs.prepare(request, principal.name, None))

    def submit(self, request: AnyJobRequest, principal: Principal = ANONYMOUS_ADMIN) -> JobAccepted:
        """Queue the request; a result-cache hit is answered at once with a job that already finished."""
        owner = principal.name
        self._enforce_policy(request, principal)
        safety = self.prompts.plan(request, principal, self.metrics)
        model = self.checks.model_of(request)
        request = self.checks.fit_family(request, model)  # SD3/Flux: family checks and defaults
        job_id = uuid.uuid4().hex
        logs.update(job_id=job_id)
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
            meta={
                "owner": owner,
                "mode": request.mode,
                "model": model,
                "weight": self.settings.weight_of(principal.roles),  # fair shares (store.fairshare)
                "version": VERSION,  # workers of another release leave it queued (schemas.scheduling)
                "payload_version": PAYLOAD_VERSION,
                "request_id": logs.current("request_id"),
            },
        )
        position = self.queue.position(job_id, queue.name)
        publish_event(self.redis, job_id, Event.QUEUED, {"position": position}, ttl)
        self.metrics.count("jobs_submitted", mode=request.mode)
        return JobAccepted(id=job_id, position=position, links={"self": job_url(job_id)})

    def _from_cache(self, payload: JobPayload, key: str) -> JobAccepted | None:
        """A finished job from the cache, or None (then noting whether an identical job is already on its way)."""
        entry = self.cache.lookup(key)
        if entry is None:
            pending = not self.cache.mark_pending(key, payload.job_id)
            self.metrics.count("cache_requests", result="attached" if pending else "miss")
            return None
        queue = self.queue.queue_for(payload.request.priority)
        finish_from_cache(self.settings, self.redis, payload, entry, queue.name)
        if request_id := logs.current("request_id"):  # the cached job carries the submit's request id too
            job = Job.fetch(payload.job_id, connection=self.redis, serializer=RQ_SERIALIZER)
            job.meta["request_id"] = request_id
            job.save_meta()
        self.metrics.count("cache_requests", result="hit")
        self.metrics.count("jobs_submitted", mode=payload.request.mode)
        self.metrics.count("jobs", mode=payload.request.mode, status="finished")
        shutil.rmtree(input_folder(self.settings.data_dir, payload.job_id), ignore_errors=True)  # not needed
        return JobAccepted(
            id=payload.job_id,
            status=JobStatus.FINISHED,
            position=None,
            cached=True,
            links={"self": job_url(payload.job_id)},
        )
