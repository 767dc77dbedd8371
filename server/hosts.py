"""The Host guard for an API without authentication: a pure ASGI middleware.

With ``SDQ_AUTH=none`` the API trusts whoever reaches it, and binds to loopback for that reason. A web page can still
reach a loopback API by DNS rebinding: its own name (``evil.example``) is re-pointed at 127.0.0.1, and the browser
sends the page's requests there with ``Host: evil.example``. So every request must name the API by a loopback name
(``localhost``, ``127.0.0.1``, ``[::1]``, any port), the address it binds to, or a name in ``SDQ_ALLOWED_HOSTS``;
any other Host (or none) is answered 421 problem details before it reaches a route.

Starlette's ``TrustedHostMiddleware`` does the same check but answers plain text (and may redirect to ``www.``);
the problem+json answer needs its own ``__call__`` anyway, so this is that check, small.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from schemas.errors import UnknownHost
from server.problems import problem_response

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def host_name(header: str | None) -> str | None:
    """The name in a Host header, lower-cased, without port, brackets or a final dot; None if it is malformed."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1 :]) if end > 0 else ("", "")
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if not name or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
        return None
    return name.removesuffix(".")


def allowed_host_names(configured: Iterable[str], bind_host: str) -> frozenset[str]:
    """Loopback names, the bind address when it is one address, and the configured names."""
    names = {*LOOPBACK_NAMES, *(host_name(name) or name.lower() for name in configured)}
    if bind_host not in WILDCARD_BINDS:
        names.add(host_name(bind_host) or bind_host.lower())
    return frozenset(names)


class HostGuard:
    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed
        self.allow_any = "*" in allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"host")
        name = host_name(raw.decode("latin-1") if raw is not None else None)
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        error = UnknownHost(
            f"Host {raw.decode('latin-1') if raw else '(none)'!r} is not this API's: with authentication off it "
            "answers only to localhost, 127.0.0.1, [::1] and SDQ_ALLOWED_HOSTS"
        )
        await problem_response(error.to_problem())(scope, receive, send)
