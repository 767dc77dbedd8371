"""One exception tree and one error shape (RFC 9457 problem details) for the whole service.

    AppError (status 500, code internal_error)
    ├── RequestInvalid (422, invalid_request)   a field's value is refused; names the field
    │   └── ModelNotFound (422, unknown_model)  the request names a model that is not installed
    ├── Unauthorized (401, unauthorized)        no credentials, or bad/expired/revoked ones
    ├── Forbidden (403, insufficient_scope)     authenticated, but not allowed to do this
    ├── NotFound (404, not_found)               a job or image that does not exist (or is not yours)
    ├── PayloadTooLarge (413, payload_too_large)
    ├── UnknownHost (421, unknown_host)         auth off: the Host header names no allowed host (DNS rebinding)
    ├── TooManyRequests (429, rate_limited)     with Retry-After
    ├── Unavailable (503, unavailable)          Redis or the worker cannot be reached
    ├── ContentBlocked (400, content_blocked)   strict safety: the prompt was flagged (categories, not words)
    └── GenerationFailed (500, generation_failed)  the worker could not produce the images
        ├── ModelLoadFailed (500, model_load_failed)  the model folder exists but does not load
        ├── JobTimedOut (500, job_timeout)          the job ran longer than the job timeout
        ├── WorkerDied (500, worker_died)           its worker died (kill -9, OOM) and retries are spent
        └── NsfwDetected (500, nsfw_detected)       strict safety: the image safety checker flagged an image

The API renders any ``AppError`` as :class:`Problem`; the worker stores the same body on a failed job.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sdqueue.dev/problems/"


FieldPath = str | tuple[str | int, ...]
"""A request-body field: its name, or the path to a nested one, e.g. ``("controlnets", 0, "control_image")``."""


def body_loc(field: FieldPath) -> list[str | int]:
    """The ``loc`` of a request-body field in problem details."""
    return ["body", field] if isinstance(field, str) else ["body", *field]


class FieldError(BaseModel):
    """One refused field: where it is in the request and why."""

    loc: list[str | int] = Field(description='Path to the field, e.g. ["body", "width"].')
    msg: str = Field(description="Why the value was refused.")
    type: str = Field("value_error", description="Machine-readable error kind.")


class Problem(BaseModel):
    """RFC 9457 problem details, with ``errors`` naming the refused fields for 4xx input errors."""

    type: str = Field(description="URI identifying the problem kind.")
    title: str = Field(description="Short summary of the problem kind.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence.")
    code: str = Field(description="Stable machine-readable code, e.g. unknown_model.")
    errors: list[FieldError] = Field(default_factory=list, description="Refused fields (4xx input errors).")


class AppError(Exception):
    """Base of every error the service raises on purpose; carries its HTTP status and code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers: dict[str, str] = {}

    def to_problem(self) -> Problem:
        return Problem(
            type=PROBLEM_TYPE_BASE + self.code,
            title=self.title,
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
        )


class RequestInvalid(AppError):
    status = 422
    code = "invalid_request"
    title = "Invalid request"

    @classmethod
    def for_field(cls, loc: list[str | int], msg: str, detail: str | None = None) -> RequestInvalid:
        return cls(detail or msg, [FieldError(loc=loc, msg=msg)])


class ModelNotFound(RequestInvalid):
    code = "unknown_model"
    title = "Unknown model"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status = 403
    code = "insufficient_scope"
    title = "Forbidden"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class UnknownHost(AppError):
    status = 421
    code = "unknown_host"
    title = "Misdirected request"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class Unavailable(AppError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


class ContentBlocked(AppError):
    status = 400
    code = "content_blocked"
    title = "Content blocked"

    def __init__(self, detail: str, categories: list[str]) -> None:
        super().__init__(detail, [FieldError(loc=["body", "prompt"], msg=detail, type="content_blocked")])
        self.categories = categories


class GenerationFailed(AppError):
    status = 500
    code = "generation_failed"
    title = "Generation failed"


class ModelLoadFailed(GenerationFailed):
    code = "model_load_failed"
    title = "Model failed to load"


class JobTimedOut(GenerationFailed):
    code = "job_timeout"
    title = "Job timed out"


class WorkerDied(GenerationFailed):
    code = "worker_died"
    title = "Worker died"


class NsfwDetected(GenerationFailed):
    code = "nsfw_detected"
    title = "Image blocked by the safety checker"
