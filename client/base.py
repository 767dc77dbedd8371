"""What the blocking and the async client (and their jobs) share: options, credentials and state, so each twin
only adds its own I/O (``httpx.Client`` or ``httpx.AsyncClient``, a lock of its kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from client.api import DEFAULT_SERVER
from client.retry import RetryPolicy
from client.tokens import Credentials
from schemas.auth import TokenPair
from schemas.jobs import JobAccepted, JobView

TransportT = TypeVar("TransportT")
ClientT = TypeVar("ClientT")


class ClientBase(Generic[TransportT]):
    """``ClientBase(base_url, api_key=... | token=... | username=..., password=...)``: the options both clients
    take; a subclass opens its HTTP client in :meth:`_open`."""

    def __init__(
        self,
        base_url: str = DEFAULT_SERVER,
        *,
        api_key: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        token_expires_at: float | None = None,
        username: str | None = None,
        password: str | None = None,
        refresh_margin: float | None = None,
        on_tokens: Callable[[TokenPair, float], None] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: TransportT | None = None,
    ) -> None:
        """Twelve keyword parameters: the client's public options (server, credentials, timeouts, retries, transport),
        as httpx's clients take them; a separate options object would only add a step for every caller.
        """
        self.base_url = base_url.rstrip("/")
        self.credentials = Credentials(
            api_key=api_key,
            token=token,
            refresh_token=refresh_token,
            expires_at=token_expires_at,
            username=username,
            password=password,
            refresh_margin=refresh_margin,
            on_tokens=on_tokens,
        )
        self.retry = retry or RetryPolicy()
        self.follow_options: dict[str, Any] = {}
        self._open(timeout, transport)

    def _open(self, timeout: float, transport: TransportT | None) -> None:
        raise NotImplementedError


class JobBase(Generic[ClientT]):
    """A submitted job: its id, the client it came from, the 202 answer and the last view fetched."""

    def __init__(
        self, client: ClientT, job_id: str, *, accepted: JobAccepted | None = None, view: JobView | None = None
    ) -> None:
        self.client = client
        self.id = job_id
        self.accepted = accepted
        self.view = view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, status={self.view.status.value if self.view else 'queued'!r})"
