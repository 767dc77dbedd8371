"""Python client for the sdqueue API: ``Client`` (blocking) and ``AsyncClient``, typed with the project's schemas.

    from client import Client
    with Client("http://127.0.0.1:8000", api_key="sdq_...") as sd:
        sd.txt2img(prompt="a lighthouse at dusk", steps=30, seed=42).save("out/")

It talks to the public HTTP API only (imports ``schemas``, ``httpx`` and, for ``as_pil``, Pillow; never torch).
"""

from __future__ import annotations

from client.async_client import AsyncClient
from client.async_job import AsyncJob
from client.errors import (
    ConnectionFailed,
    ContentBlocked,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SdqueueError,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UnknownModel,
    WaitTimeout,
)
from client.events import JobEvent
from client.retry import RetryPolicy
from client.sync_client import Client
from client.sync_job import Job

__all__ = [
    "AsyncClient",
    "AsyncJob",
    "Client",
    "ConnectionFailed",
    "ContentBlocked",
    "Forbidden",
    "InvalidRequest",
    "Job",
    "JobEvent",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RetryPolicy",
    "SdqueueError",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "UnknownModel",
    "WaitTimeout",
]
