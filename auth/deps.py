"""FastAPI dependencies: ``CurrentPrincipal`` and ``require_scope(...)``.

Credentials: ``Authorization: Bearer <JWT or sdq_ API key>`` or ``X-API-Key: sdq_...``. No credentials: the
anonymous principal of the mode (everything with auth off, ``guest`` in optional mode, else 401).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from auth.clients import client_address
from auth.principal import Principal, Scope
from auth.service import AuthService
from schemas.errors import Forbidden
from store import logs

# Declared for OpenAPI (the /docs "Authorize" button); auto_error off: the mode decides what is required.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth
    return service


AuthDep = Annotated[AuthService, Depends(get_auth)]


async def current_principal(
    auth: AuthDep,
    bearer: Annotated[str | None, Security(oauth2_scheme)],
    api_key: Annotated[str | None, Security(api_key_header)],
) -> Principal:
    credential = bearer or api_key
    if not credential or not auth.enabled:
        principal = auth.anonymous()
    else:
        principal = await run_in_threadpool(auth.from_bearer, credential)
    logs.update(user=principal.name)  # the request's log lines name the user from here on
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def client_address_of(request: Request, auth: AuthDep) -> str:
    """The caller's address for login limits: the socket peer, or X-Forwarded-For behind trusted proxies."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), auth.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(client_address_of)]


def require_scope(
    scope: Scope, principal_of: Callable[..., Coroutine[Any, Any, Principal]] = current_principal
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that answers the principal ``principal_of`` finds (default: the API's credentials) when it
    has ``scope``, else 403 naming the scope (the drop-in facades pass their own credential reader)."""

    async def check(principal: Principal = Depends(principal_of)) -> Principal:  # noqa: B008 (a local dependency)
        if not principal.has_scope(scope):
            raise Forbidden(f"this needs the scope {scope.value!r}")
        return principal

    return check


CanGenerate = Annotated[Principal, Depends(require_scope(Scope.GENERATE))]
CanReadJobs = Annotated[Principal, Depends(require_scope(Scope.JOBS_READ))]
CanReadModels = Annotated[Principal, Depends(require_scope(Scope.MODELS_READ))]
CanWriteModels = Annotated[Principal, Depends(require_scope(Scope.MODELS_WRITE))]
QueueAdmin = Annotated[Principal, Depends(require_scope(Scope.QUEUE_ADMIN))]
UsersAdmin = Annotated[Principal, Depends(require_scope(Scope.USERS_ADMIN))]
CanReadMetrics = Annotated[Principal, Depends(require_scope(Scope.METRICS_READ))]
CanReadKeys = Annotated[Principal, Depends(require_scope(Scope.KEYS_READ))]
CanWriteKeys = Annotated[Principal, Depends(require_scope(Scope.KEYS_WRITE))]
