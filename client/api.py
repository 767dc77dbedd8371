"""The API's endpoints as :class:`~client.flow.Call` builders, shared by the sync and the async client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from client.flow import Call
from schemas.models import ModelType
from schemas.version import VERSION

DEFAULT_SERVER = "http://127.0.0.1:8000"
USER_AGENT = f"sdqueue-client/{VERSION}"

JOBS = "/api/v1/jobs"
MODELS_PAGE_LIMIT = 200


def submit(path: str, body: dict[str, Any]) -> Call:
    return Call("POST", path, json=body)


def upload(file: tuple[str, bytes, str]) -> Call:
    return Call("POST", "/api/v1/uploads", files={"file": file})


def job(job_id: str) -> Call:
    return Call("GET", f"{JOBS}/{job_id}")


def cancel(job_id: str) -> Call:
    return Call("POST", f"{JOBS}/{job_id}/cancel")


def jobs(
    status: str | None = None,
    mode: str | None = None,
    since: datetime | str | None = None,
    page: int = 1,
    limit: int = 20,
) -> Call:
    params: dict[str, str | int] = {"page": page, "limit": limit}
    if status is not None:
        params["status"] = str(status)
    if mode is not None:
        params["mode"] = mode
    if since is not None:
        params["since"] = since.isoformat() if isinstance(since, datetime) else since
    return Call("GET", JOBS, params=params)


def models(type: ModelType | str | None = None, search: str | None = None, page: int = 1) -> Call:
    params: dict[str, str | int] = {"page": page, "limit": MODELS_PAGE_LIMIT}
    if type is not None:
        params["type"] = str(type)
    if search:
        params["search"] = search
    return Call("GET", "/api/v1/models", params=params)


def get(path: str) -> Call:
    """A GET of a path the server gave (an image URL, which may be signed)."""
    return Call("GET", path)


QUEUE = Call("GET", "/api/v1/queue")
ME = Call("GET", "/api/v1/auth/me")
SERVER_VERSION = Call("GET", "/api/version", authenticated=False)
