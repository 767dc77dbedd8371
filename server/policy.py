"""Who may submit what: priority by role, submissions per minute, queued jobs per principal."""

from __future__ import annotations

from auth.principal import Principal
from auth.service import AuthService
from schemas.errors import Forbidden, TooManyRequests
from schemas.keys import Priority
from schemas.upscale import AnyJobRequest
from server.jobs import JobService


def enforce_submit_policy(request: AnyJobRequest, principal: Principal, auth: AuthService, jobs: JobService) -> None:
    """Blocking (Redis): run in the thread pool."""
    settings = auth.settings
    if not auth.enabled:
        return
    if request.priority is Priority.HIGH and not set(principal.roles) & set(settings.high_priority_roles):
        raise Forbidden("priority 'high' is reserved for: " + ", ".join(settings.high_priority_roles))
    auth.limits.hit(f"submit:{principal.name}", settings.submit_per_minute, 60)
    queued = jobs.queued_count(principal.name)
    if queued >= settings.max_queued_per_user:
        raise TooManyRequests(f"{queued} of your jobs are already queued (limit {settings.max_queued_per_user})", 10)
