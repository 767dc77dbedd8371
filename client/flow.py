"""One API call as a transport-agnostic flow (sans I/O): a generator that yields what to do next.

A flow yields :class:`Call` (send it and send back the :class:`Reply`), :class:`Sleep` (wait, send back None) or
:class:`Authenticate` (make sure the credentials are fresh, send back None) and returns the final :class:`Reply`,
or raises the client's exception. The sync and the async client each drive flows with their own I/O, so the
retry rules (429/503 honouring ``Retry-After``, bounded), the one re-authentication after a 401, and the
parsing of problem details live here once.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from client.problems import error_from_response, is_success
from client.retry import RetryPolicy


@dataclass(frozen=True)
class Call:
    """An HTTP request: ``path`` is relative to the server's base URL (may carry a query, e.g. signed URLs)."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, str | int] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    authenticated: bool = True

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``httpx.Client.request`` (and the async one's) besides method and path."""
        return {
            "json": self.json,
            "params": dict(self.params) if self.params else None,
            "files": dict(self.files) if self.files else None,
            "headers": dict(self.headers),
        }


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Authenticate:
    """Log in or refresh when due; with ``stale``, the server refused that token: renew it unless already renewed."""

    stale: str | None = None
    force: bool = False


Step = Call | Sleep | Authenticate
Flow = Generator[Step, "Reply | None", Any]


class CredentialSource(Protocol):
    """What a flow needs from the credentials: the headers now, and whether a 401 can be recovered from."""

    def headers(self) -> dict[str, str]: ...

    def can_recover(self) -> bool: ...

    def current_token(self) -> str | None: ...


class Anonymous:
    """No credentials (login and refresh calls, public endpoints)."""

    def headers(self) -> dict[str, str]:
        return {}

    def can_recover(self) -> bool:
        return False

    def current_token(self) -> str | None:
        return None


NO_CREDENTIALS = Anonymous()


def exchange(call: Call, credentials: CredentialSource, policy: RetryPolicy) -> Flow:
    """Send ``call`` until it succeeds; returns the successful :class:`Reply`."""
    attempt, waited, recovered = 0, 0.0, False
    while True:
        if call.authenticated:
            yield Authenticate()
        used = credentials.current_token() if call.authenticated else None
        headers = {**call.headers, **(credentials.headers() if call.authenticated else {})}
        reply = yield replace(call, headers=headers)
        assert reply is not None
        if is_success(reply.status):
            return reply
        error = error_from_response(reply.status, reply.headers, reply.body)
        if reply.status == 401 and call.authenticated and not recovered and credentials.can_recover():
            recovered = True
            yield Authenticate(stale=used, force=True)
            continue
        delay = policy.delay(reply.status, error.retry_after, attempt, waited)
        if delay is None:
            raise error
        yield Sleep(delay)
        waited += delay
        attempt += 1
