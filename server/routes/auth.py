"""Log in (JSON or OAuth2 form), refresh, log out, who am I; API keys; users (admin)."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from auth.apikeys import ApiKeyRecord
from auth.deps import AuthDep, CanReadKeys, CanWriteKeys, ClientAddress, CurrentPrincipal, UsersAdmin, oauth2_scheme
from auth.tokens import InvalidToken
from auth.users import NoSuchUser, UserExists
from schemas.auth import (
    KeyCreate,
    KeyCreated,
    KeyView,
    LoginRequest,
    LogoutRequest,
    Me,
    RefreshRequest,
    RolesUpdate,
    TokenPair,
    UserCreate,
    UserView,
)
from schemas.errors import NotFound, RequestInvalid, Unauthorized
from server.deps import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def _login_body(request: Request) -> LoginRequest:
    """JSON ``{username, password}``, or the OAuth2 password form that /docs' Authorize button posts."""
    try:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = await request.form()
            return LoginRequest(username=str(form.get("username", "")), password=str(form.get("password", "")))
        return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from exc


@router.post(
    "/login",
    response_model=TokenPair,
    responses=problem_responses(401, 404, 422, 429),
    summary="Exchange a username and password for an access and a refresh token",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": LoginRequest.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": LoginRequest.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def login(request: Request, auth: AuthDep, address: ClientAddress) -> TokenPair:
    if not auth.accepts_passwords:
        raise NotFound("password login is not enabled (SDQ_AUTH has no jwt, pam or unix)")
    body = await _login_body(request)
    return TokenPair(**await run_in_threadpool(auth.log_in, body.username, body.password, address))


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(401, 422),
    summary="Trade a refresh token (once) for a new pair",
)
async def refresh(body: RefreshRequest, auth: AuthDep) -> TokenPair:
    return TokenPair(**await run_in_threadpool(auth.refresh, body.refresh_token))


@router.post(
    "/logout",
    status_code=204,
    responses=problem_responses(401),
    summary="Revoke this access token (and the refresh token, when given) until they expire",
)
async def logout(
    principal: CurrentPrincipal,
    auth: AuthDep,
    bearer: Annotated[str | None, Security(oauth2_scheme)],
    body: LogoutRequest | None = None,
) -> Response:
    if principal.method != "jwt" or bearer is None:
        raise Unauthorized("log out with the access token you got from /login")
    await run_in_threadpool(auth.tokens.revoke, auth.tokens.decode(bearer, "access"))
    if body is not None and body.refresh_token:
        with suppress(InvalidToken):
            await run_in_threadpool(auth.tokens.revoke, auth.tokens.decode(body.refresh_token, "refresh"))
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=problem_responses(401), summary="Who am I")
async def me(principal: CurrentPrincipal) -> Me:
    return Me(
        user=principal.name,
        roles=list(principal.roles),
        scopes=list(principal.scopes),
        method=principal.method,
        key_id=principal.key_id,
    )


@router.get(
    "/validate",
    response_model=Me,
    responses=problem_responses(401),
    summary="200 when the presented credentials are valid, else 401",
)
async def validate(principal: CurrentPrincipal) -> Me:
    if principal.method in ("guest", "none"):
        raise Unauthorized("no credentials presented")
    return await me(principal)


# -- API keys ----------------------------------------------------------------------------------------------
def _key_view(record: ApiKeyRecord) -> KeyView:
    return KeyView(**record.model_dump())


@router.post(
    "/keys",
    status_code=201,
    response_model=KeyCreated,
    responses=problem_responses(401, 403, 422),
    summary="Create an API key (the key is in this answer only)",
)
async def create_key(body: KeyCreate, principal: CanWriteKeys, auth: AuthDep) -> KeyCreated:
    created, key = await run_in_threadpool(auth.mint_key, principal, body)
    return KeyCreated(**created.model_dump(), key=key)


@router.get(
    "/keys",
    response_model=list[KeyView],
    responses=problem_responses(401, 403),
    summary="Your API keys (admins: everyone's)",
)
async def list_keys(principal: CanReadKeys, auth: AuthDep) -> list[KeyView]:
    records = await run_in_threadpool(auth.api_keys.of_owner, None if principal.is_admin else principal.name)
    return [_key_view(r) for r in records]


@router.delete(
    "/keys/{key_id}",
    status_code=204,
    responses=problem_responses(401, 403, 404),
    summary="Revoke an API key (yours; admins: any)",
)
async def revoke_key(key_id: str, principal: CanWriteKeys, auth: AuthDep) -> Response:
    record = await run_in_threadpool(auth.api_keys.get, key_id)
    if record is None or (record.owner != principal.name and not principal.is_admin):
        raise NotFound(f"no API key {key_id!r}")
    await run_in_threadpool(auth.api_keys.revoke, key_id)
    return Response(status_code=204)


# -- users (admin) -----------------------------------------------------------------------------------------
@router.get("/users", response_model=list[UserView], responses=problem_responses(401, 403), summary="List users")
async def list_users(admin: UsersAdmin, auth: AuthDep) -> list[UserView]:
    return [UserView(**u.model_dump()) for u in await run_in_threadpool(auth.users.all)]


@router.post(
    "/users",
    status_code=201,
    response_model=UserView,
    responses=problem_responses(401, 403, 409, 422),
    summary="Create a local user",
)
async def create_user(body: UserCreate, admin: UsersAdmin, auth: AuthDep) -> UserView:
    try:
        record = await run_in_threadpool(auth.users.create, body.name, body.password, body.roles)
    except ValueError as exc:
        raise RequestInvalid.for_field(["body", "name"], str(exc)) from exc
    except UserExists as exc:
        raise RequestInvalid.for_field(["body", "name"], f"user {body.name!r} exists") from exc
    return UserView(**record.model_dump())


async def _set(auth: AuthDep, name: str, method: str, *args: object) -> UserView:
    try:
        await run_in_threadpool(getattr(auth.users, method), name, *args)
    except NoSuchUser as exc:
        raise NotFound(f"no user {name!r}") from exc
    record = await run_in_threadpool(auth.users.get, name)
    assert record is not None
    return UserView(**record.model_dump())


@router.post(
    "/users/{name}/disable",
    response_model=UserView,
    responses=problem_responses(401, 403, 404),
    summary="Disable a user (their tokens and keys stop working at once)",
)
async def disable_user(name: str, admin: UsersAdmin, auth: AuthDep) -> UserView:
    return await _set(auth, name, "set_disabled", True)


@router.post(
    "/users/{name}/enable",
    response_model=UserView,
    responses=problem_responses(401, 403, 404),
    summary="Enable a user again",
)
async def enable_user(name: str, admin: UsersAdmin, auth: AuthDep) -> UserView:
    return await _set(auth, name, "set_disabled", False)


@router.put(
    "/users/{name}/roles",
    response_model=UserView,
    responses=problem_responses(401, 403, 404, 422),
    summary="Set a user's roles",
)
async def set_roles(name: str, body: RolesUpdate, admin: UsersAdmin, auth: AuthDep) -> UserView:
    return await _set(auth, name, "set_roles", body.roles)
