"""Render every error as RFC 9457 problem details (``application/problem+json``).

AppError → its own status and code; request validation → 422 with ``errors[{loc, msg, type}]``;
Starlette HTTP errors (unknown route, wrong method) → their status; Redis unreachable (from any route, auth
included) → 503 ``unavailable`` with ``Retry-After``; anything else → a 500 that logs the traceback and tells the
client nothing internal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, AppError, FieldError, Problem, Unavailable

log = logging.getLogger(__name__)


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _generic(status: int, detail: str, code: str) -> Problem:
    return Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(exc.to_problem(), headers=exc.headers or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            loc=[str(part) if not isinstance(part, int) else part for part in e["loc"]],
            msg=e["msg"],
            type=e["type"],
        )
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in err.loc[1:] or err.loc) for err in errors)
    problem = _generic(422, f"invalid value for: {fields}", "invalid_request")
    problem.title = "Invalid request"
    problem.errors = errors
    return problem_response(problem)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    return problem_response(_generic(exc.status_code, str(exc.detail), code), headers=exc.headers)


REDIS_RETRY_AFTER_SECONDS = 2


async def _redis_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("Redis unreachable on %s %s: %s", request.method, request.url.path, exc)
    problem = Unavailable("cannot reach Redis; try again shortly").to_problem()
    return problem_response(problem, headers={"Retry-After": str(REDIS_RETRY_AFTER_SECONDS)})


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(_generic(500, "internal error; see the server log", "internal_error"))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RedisConnectionError, _redis_unreachable)
    app.add_exception_handler(RedisTimeoutError, _redis_unreachable)
    app.add_exception_handler(Exception, _unhandled)
