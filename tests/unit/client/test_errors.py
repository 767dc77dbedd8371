"""Problem details to exceptions, Retry-After, and the retry policy's bounds."""

from __future__ import annotations

import json

import pytest

from client.errors import (
    ContentBlocked,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    SdqueueError,
    ServerError,
    Unauthorized,
    Unavailable,
    UnknownModel,
)
from client.problems import error_from_response, retry_after_seconds
from client.retry import RetryPolicy


def problem(status: int, code: str, **extra: object) -> bytes:
    body = {
        "type": f"https://sdqueue.dev/problems/{code}",
        "title": code,
        "status": status,
        "detail": "d",
        "code": code,
    }
    return json.dumps({**body, **extra}).encode()


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (422, "invalid_request", InvalidRequest),
        (422, "unknown_model", UnknownModel),
        (401, "unauthorized", Unauthorized),
        (403, "insufficient_scope", Forbidden),
        (404, "not_found", NotFound),
        (429, "rate_limited", RateLimited),
        (503, "unavailable", Unavailable),
        (400, "content_blocked", ContentBlocked),
        (500, "internal_error", ServerError),
        (502, "bad_gateway", ServerError),
        (405, "method_not_allowed", SdqueueError),
    ],
)
def test_each_problem_code_has_its_exception(status: int, code: str, expected: type[SdqueueError]) -> None:
    error = error_from_response(status, {}, problem(status, code))
    assert type(error) is expected and error.code == code and error.status == status


def test_invalid_request_maps_fields_to_messages() -> None:
    errors = [
        {"loc": ["body", "width"], "msg": "Input should be a multiple of 8", "type": "multiple_of"},
        {"loc": ["body", "controlnets", 0, "control_image"], "msg": "not an image", "type": "value_error"},
    ]
    error = error_from_response(422, {}, problem(422, "invalid_request", errors=errors))
    assert isinstance(error, InvalidRequest)
    assert error.fields == {"width": "Input should be a multiple of 8", "controlnets.0.control_image": "not an image"}
    assert "width" in str(error)


def test_an_answer_that_is_not_problem_details_still_maps_by_status() -> None:
    error = error_from_response(503, {"Retry-After": "7"}, b"<html>bad gateway</html>")
    assert isinstance(error, Unavailable) and error.retry_after == 7 and "bad gateway" in error.problem.detail


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_only_429_and_503_are_retried_within_the_bounds() -> None:
    policy = RetryPolicy(max_retries=3, max_wait=10, backoff=0.5, max_delay=4)
    assert policy.delay(400, None, 0, 0) is None
    assert policy.delay(422, 1, 0, 0) is None
    assert policy.delay(503, 2, 0, 0) == 2
    assert policy.delay(429, None, 2, 0) == 2.0  # backoff doubles: 0.5, 1, 2
    assert policy.delay(503, 60, 0, 0) == 4  # capped at max_delay
    assert policy.delay(503, 2, 3, 0) is None  # retries spent
    assert policy.delay(503, 2, 1, 9) is None  # would pass max_wait
