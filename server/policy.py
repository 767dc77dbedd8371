"""Who may do what how often: priority by role, submissions and other costly requests per minute, queued jobs,
stored uploads, pending watermark checks and open event streams per principal.

Every per-principal limit applies when authentication is on (``SDQ_AUTH`` other than ``none``); with it off there
is one caller, the local owner, and none applies. Each is a FastAPI dependency (the submit policy runs in
``server.submit``, as it needs the parsed request). Rates are fixed one-minute windows in Redis (``auth.limits``)
answered with 429 and Retry-After; quotas on stored bytes are 413 naming the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any

import anyio
from fastapi import Depends
from starlette.concurrency import run_in_threadpool

from auth.deps import AuthDep, CurrentPrincipal, require_scope
from auth.principal import Principal, Scope
from auth.service import AuthService
from schemas.errors import TooManyRequests
from server.deps import AsyncRedisDep, InputsDep, OperationsDep, OwnedJob
from server.streams import StreamSlot
from server.uploads import UploadQuota

PENDING_RETRY_AFTER_SECONDS = 5


class Rate(StrEnum):
    """A per-minute limit; its setting is ``SDQ_<VALUE>_PER_MINUTE``."""

    UPLOADS = "uploads"
    WATERMARK_CHECKS = "watermark_checks"
    VALIDATIONS = "validations"
    HASHES = "hashes"

    @property
    def setting(self) -> str:
        return f"{self.value}_per_minute"


def hit_rate(auth: AuthService, rate: Rate, name: str) -> None:
    """Count one request of ``rate`` for ``name``; 429 naming the setting past the limit. Blocking (Redis)."""
    limit: int = getattr(auth.settings, rate.setting)
    try:
        auth.limits.hit(f"{rate.value}:{name}", limit, 60)
    except TooManyRequests as exc:
        what = rate.value.replace("_", " ")
        raise TooManyRequests(
            f"more than {limit} {what} per minute (SDQ_{rate.setting.upper()})", exc.retry_after
        ) from exc


def rate_limited(scope: Scope, rate: Rate) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, once it has ``scope`` and is within ``rate``."""
    scoped = require_scope(scope)

    # A default, not Annotated[..., Depends(scoped)]: string annotations cannot name the local ``scoped``.
    async def check(auth: AuthDep, principal: Principal = Depends(scoped)) -> Principal:  # noqa: B008
        if auth.enabled:
            await run_in_threadpool(hit_rate, auth, rate, principal.name)
        return principal

    return check


CanUpload = Annotated[Principal, Depends(rate_limited(Scope.GENERATE, Rate.UPLOADS))]
CanValidate = Annotated[Principal, Depends(rate_limited(Scope.GENERATE, Rate.VALIDATIONS))]
CanHash = Annotated[Principal, Depends(rate_limited(Scope.MODELS_READ, Rate.HASHES))]
_CanCheckWatermarkRate = Annotated[Principal, Depends(rate_limited(Scope.GENERATE, Rate.WATERMARK_CHECKS))]


async def can_check_watermark(principal: _CanCheckWatermarkRate, auth: AuthDep, operations: OperationsDep) -> Principal:
    """Within the watermark-check rate, with fewer than SDQ_MAX_WATERMARK_CHECKS_PER_USER checks pending."""
    limit = auth.settings.max_watermark_checks_per_user
    if auth.enabled:
        pending = await run_in_threadpool(operations.pending_watermark_checks, principal.name)
        if pending >= limit:
            raise TooManyRequests(
                f"{pending} of your watermark checks are queued or running (SDQ_MAX_WATERMARK_CHECKS_PER_USER is "
                f"{limit}); poll them first",
                PENDING_RETRY_AFTER_SECONDS,
            )
    return principal


CanCheckWatermark = Annotated[Principal, Depends(can_check_watermark)]


async def upload_quota(principal: CurrentPrincipal, auth: AuthDep, inputs: InputsDep) -> UploadQuota | None:
    """The caller's upload quota (None with auth off); 413 before the body is read when it is used up."""
    if not auth.enabled:
        return None
    settings = auth.settings
    quota = UploadQuota(settings.max_uploads_per_user, settings.max_upload_bytes_per_user)
    await run_in_threadpool(inputs.ledger.check, principal.name, quota, None)
    return quota


UploadQuotaDep = Annotated[UploadQuota | None, Depends(upload_quota)]


async def event_stream_slot(
    job: OwnedJob, principal: CurrentPrincipal, auth: AuthDep, aredis: AsyncRedisDep
) -> AsyncIterator[StreamSlot | None]:
    """A slot among the caller's SDQ_MAX_EVENT_STREAMS_PER_USER open streams (None with auth off), held until the
    stream ends: FastAPI runs the code after ``yield`` once the response is over."""
    if not auth.enabled:
        yield None
        return
    slot = StreamSlot(aredis, principal.name)
    await slot.acquire(auth.settings.max_event_streams_per_user)
    try:
        yield slot
    finally:
        with anyio.CancelScope(shield=True):
            await slot.release()


EventStreamSlot = Annotated[StreamSlot | None, Depends(event_stream_slot)]
