"""Python client for the sdqueue API: ``Client`` (blocking) and ``AsyncClient``, typed with the project's schemas.

    from client import Client
    with Client("http://127.0.0.1:8000", api_key="sdq_...") as sd:
        sd.txt2img(prompt="a lighthouse at dusk", steps=30, seed=42).save("out/")

It talks to the public HTTP API only (imports ``schemas``, ``httpx`` and, for ``as_pil``, Pillow; never torch).
Names are imported on first use, so ``import client`` (and ``client.api`` for the CLI's parsers) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "AsyncClient": "client.async_client",
    "AsyncJob": "client.async_job",
    "Client": "client.sync_client",
    "Job": "client.sync_job",
    "JobEvent": "client.events",
    "RetryPolicy": "client.retry",
    **{
        name: "client.errors"
        for name in (
            "ConnectionFailed",
            "ContentBlocked",
            "Forbidden",
            "InvalidRequest",
            "NotFound",
            "PayloadTooLarge",
            "RateLimited",
            "SdqueueError",
            "ServerError",
            "TooManyRequests",
            "Unauthorized",
            "Unavailable",
            "UnknownModel",
            "WaitTimeout",
        )
    },
}
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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'client' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
