"""The client's exceptions: one class per problem ``code`` of the server's RFC 9457 problem details.

    SdqueueError                  .problem (the server's problem details, or one made here), .status, .code
    ├── InvalidRequest            422 invalid_request; .fields maps "width" / "controlnets.0.control_image" → msg
    │   └── UnknownModel          422 unknown_model
    ├── Unauthorized              401 unauthorized
    ├── Forbidden                 403 insufficient_scope
    ├── NotFound                  404 not_found
    ├── PayloadTooLarge           413 payload_too_large
    ├── RateLimited               429 rate_limited (alias TooManyRequests); .retry_after
    ├── Unavailable               503 unavailable / not_ready; .retry_after
    ├── ContentBlocked            400 content_blocked
    ├── ServerError               other 5xx (internal_error, ...)
    ├── ConnectionFailed          no HTTP answer (refused, reset, timed out); status 0
    └── WaitTimeout               also a TimeoutError: job.wait(timeout) ran out; status 0

429 and 503 are retried (honouring ``Retry-After``) before they are raised; other 4xx never.
"""

from __future__ import annotations

from typing import ClassVar

from schemas.errors import Problem


class SdqueueError(Exception):
    """Base of every error the client raises; ``problem`` is what the server said (or a local equivalent)."""

    codes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, problem: Problem, retry_after: float | None = None) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def code(self) -> str:
        return self.problem.code

    def __str__(self) -> str:
        return f"{self.problem.code}: {self.problem.detail}"


class InvalidRequest(SdqueueError):
    codes = ("invalid_request",)

    @property
    def fields(self) -> dict[str, str]:
        """Each refused field, as a dotted path without ``body`` (``width``, ``controlnets.0.control_image``)."""
        return {field_name(error.loc): error.msg for error in self.problem.errors}

    def __str__(self) -> str:
        if not self.problem.errors:
            return super().__str__()
        return "; ".join(f"{name}: {msg}" for name, msg in self.fields.items())


class UnknownModel(InvalidRequest):
    codes = ("unknown_model",)


class Unauthorized(SdqueueError):
    codes = ("unauthorized",)


class Forbidden(SdqueueError):
    codes = ("insufficient_scope", "forbidden")


class NotFound(SdqueueError):
    codes = ("not_found",)


class PayloadTooLarge(SdqueueError):
    codes = ("payload_too_large", "request_entity_too_large", "content_too_large")


class RateLimited(SdqueueError):
    codes = ("rate_limited", "too_many_requests")


TooManyRequests = RateLimited


class Unavailable(SdqueueError):
    codes = ("unavailable", "not_ready", "service_unavailable")


class ContentBlocked(SdqueueError):
    codes = ("content_blocked",)


class ServerError(SdqueueError):
    codes = ("internal_error",)


class ConnectionFailed(SdqueueError):
    codes = ("connection_failed",)


class WaitTimeout(SdqueueError, TimeoutError):
    codes = ("wait_timeout",)


_BY_CODE: dict[str, type[SdqueueError]] = {
    code: cls
    for cls in (
        InvalidRequest,
        UnknownModel,
        Unauthorized,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        RateLimited,
        Unavailable,
        ContentBlocked,
        ServerError,
        ConnectionFailed,
        WaitTimeout,
    )
    for code in cls.codes
}
_BY_STATUS: dict[int, type[SdqueueError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def error_class(problem: Problem) -> type[SdqueueError]:
    """The exception for a problem: by its code, else by its status."""
    if problem.code in _BY_CODE:
        return _BY_CODE[problem.code]
    if problem.status >= 500:
        return _BY_STATUS.get(problem.status, ServerError)
    return _BY_STATUS.get(problem.status, SdqueueError)


def error_for(problem: Problem, retry_after: float | None = None) -> SdqueueError:
    return error_class(problem)(problem, retry_after)


def local_problem(code: str, detail: str, title: str = "Client error") -> Problem:
    """Problem details for an error with no HTTP answer behind it (status 0)."""
    return Problem(type="about:blank", title=title, status=0, detail=detail, code=code)


def connection_problem(base_url: str, exc: Exception) -> Problem:
    reason = str(exc) or type(exc).__name__
    return local_problem("connection_failed", f"cannot reach {base_url}: {reason}", "Connection failed")


def field_name(loc: list[str | int]) -> str:
    """``["body", "controlnets", 0, "control_image"]`` → ``controlnets.0.control_image``."""
    parts = loc[1:] if loc and loc[0] == "body" and len(loc) > 1 else loc
    return ".".join(str(part) for part in parts)
