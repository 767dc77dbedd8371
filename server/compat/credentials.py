"""Who calls a drop-in API: the native credentials (``Authorization: Bearer``, ``X-API-Key``), plus the
``api-key`` header Azure OpenAI clients send and HTTP Basic (``user:password``, or any user with an ``sdq_`` API key
as the password) that AUTOMATIC1111 clients send. With auth off every credential is ignored."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from auth.deps import AuthDep, client_address_of, current_principal, require_scope
from auth.principal import Principal, Scope, scopes_for_roles
from auth.service import BAD_LOGIN, AuthService
from schemas.errors import Unauthorized


def _basic(auth: AuthService, value: str, address: str) -> Principal:
    """Blocking: a Basic credential, counted against the login limits like a login."""
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("malformed Basic credentials") from exc
    if password.startswith("sdq_"):
        return auth.from_api_key(password)
    auth.limits.reserve_login(user, address)
    roles = auth.check_password(user, password)
    if roles is None:
        raise Unauthorized(BAD_LOGIN)
    auth.limits.release_login(user, address)
    return Principal(name=user, roles=roles, scopes=sorted(scopes_for_roles(roles)), method="basic")


async def compat_principal(request: Request, auth: AuthDep) -> Principal:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if not auth.enabled:
        return auth.anonymous()
    if scheme.lower() == "basic" and value:
        return await run_in_threadpool(_basic, auth, value, client_address_of(request, auth))
    bearer = value if scheme.lower() == "bearer" and value else None
    api_key = request.headers.get("x-api-key") or request.headers.get("api-key")
    return await current_principal(auth, bearer, api_key)


CompatGenerate = Annotated[Principal, Depends(require_scope(Scope.GENERATE, compat_principal))]
CompatReadModels = Annotated[Principal, Depends(require_scope(Scope.MODELS_READ, compat_principal))]
CompatReadJobs = Annotated[Principal, Depends(require_scope(Scope.JOBS_READ, compat_principal))]
