"""Turning an HTTP answer into the client's exception: transport-agnostic (status, headers, body bytes)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus

from pydantic import ValidationError

from client.errors import InvalidRequest, SdqueueError, error_for
from schemas.errors import PROBLEM_TYPE_BASE, FieldError, Problem


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_problem(status: int, body: bytes) -> Problem:
    """The answer's problem details; an answer that is not one (a proxy's HTML page) gets a generic problem."""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            return Problem.model_validate(data)
    except (ValueError, ValidationError):
        pass
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    text = body.decode("utf-8", "replace").strip()[:200]
    return Problem(type=PROBLEM_TYPE_BASE + code, title=phrase, status=status, detail=text or phrase, code=code)


def error_from_response(status: int, headers: Mapping[str, str], body: bytes) -> SdqueueError:
    return error_for(parse_problem(status, body), retry_after_seconds(headers))


def is_success(status: int) -> bool:
    return 200 <= status < 300


def invalid_from_validation(exc: ValidationError) -> InvalidRequest:
    """A request refused before it was sent, shaped like the server's 422 (``loc`` starting with ``body``)."""
    errors = [
        FieldError(loc=["body", *(part for part in error["loc"])], msg=error["msg"], type=error["type"])
        for error in exc.errors(include_url=False)
    ]
    names = ", ".join(".".join(str(p) for p in e.loc[1:]) or "body" for e in errors)
    problem = Problem(
        type=PROBLEM_TYPE_BASE + "invalid_request",
        title="Invalid request",
        status=422,
        detail=f"invalid value for: {names}",
        code="invalid_request",
        errors=errors,
    )
    error = error_for(problem)
    assert isinstance(error, InvalidRequest)
    return error
