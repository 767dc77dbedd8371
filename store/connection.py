"""How sdqueue connects to Redis: one policy for every process, so no blocking read times out by accident.

redis-py 8 gives every connection a 5 s ``socket_timeout``. A blocking read that waits longer (RQ's dequeue
``BLPOP``, ``XREAD BLOCK``) then ends in ``TimeoutError``, which RQ takes for a lost connection and answers
with back-off of up to 60 s: an idle worker used to take half a minute or more to start a job. So:

- a connection that blocks (``blocking_seconds``) gets a socket timeout longer than its longest blocking read;
- TCP keepalive and a health check (PING before a command on a connection idle for ``HEALTH_CHECK_SECONDS``)
  still notice a dead peer on a connection that waits a long time;
- commands retry a few times on a dropped connection (redis-py's ``Retry``), briefly, so a caller (the API's
  503, the worker's reconnect loop) learns of a real outage in about a second rather than after ten retries.

URLs: ``redis://``, ``rediss://`` (TLS), ``unix://`` as redis-py reads them, and Redis Sentinel for a highly
available Redis::

    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?sentinel_password=...]
    rediss+sentinel://...   (TLS to the sentinels and to the primary)

The password (and user) in the URL are the data nodes' (``requirepass`` / ACL); ``sentinel_password`` (and
``sentinel_username``) the sentinels' own, when they have one. Port 26379 when none is given. The client asks the
sentinels for the primary of ``service`` and asks again after a failover (redis-py's ``SentinelConnectionPool``:
a connection to a dead or demoted primary fails, the retry connects to the new one).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff
from redis.connection import SSLConnection
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 10.0  # a plain command (no blocking read) that takes longer means Redis is stuck
BLOCKING_MARGIN_SECONDS = 15.0  # socket timeout = the longest blocking read + this
HEALTH_CHECK_SECONDS = 30
RETRIES = 3
RETRY_BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
SENTINEL_PORT = 26379


def _keepalive_options() -> dict[int, int]:
    """Probe an idle connection after 30 s, every 5 s, 3 times (Linux names; other platforms keep defaults)."""
    wanted = {"TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3}
    return {getattr(socket, name): value for name, value in wanted.items() if hasattr(socket, name)}


def connection_options(blocking_seconds: float = 0) -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url``: ``blocking_seconds`` is the longest blocking read the caller
    makes on these connections (0: none)."""
    timeout = COMMAND_TIMEOUT_SECONDS
    if blocking_seconds:
        timeout = max(timeout, blocking_seconds + BLOCKING_MARGIN_SECONDS)
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": timeout,
        "socket_keepalive": True,
        "socket_keepalive_options": _keepalive_options(),
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }


class SentinelConnection(SentinelManagedConnection):
    """redis-py's sentinel connection, but one interrupted mid-read is dropped, as a plain connection is.

    redis-py 8's ``SentinelManagedConnection.read_response`` defaults ``disconnect_on_error`` to False (the plain
    ``Connection`` to True). The worker's stop signal arrives while it waits in ``BLPOP``; the connection then went
    back to the pool with that reply still unread, and the next command on it (RQ's ``register_death``) waited for
    an answer that never came: the worker hung for its socket timeout on every stop (measured: 20 s, then killed).
    """

    def read_response(self, disable_decoding: bool = False, **kwargs: Any) -> Any:
        kwargs.setdefault("disconnect_on_error", True)
        return super().read_response(disable_decoding, **kwargs)


class SentinelSSLConnection(SentinelConnection, SSLConnection):
    """The same over TLS (``rediss+sentinel://``)."""


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed ``redis+sentinel://`` URL (see the module docstring)."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False

    def node_options(self) -> dict[str, Any]:
        """Keyword arguments for the primary's connections."""
        connection_class = SentinelSSLConnection if self.tls else SentinelConnection
        return {"db": self.db, "username": self.username, "password": self.password} | {
            "connection_class": connection_class
        }

    def sentinel_options(self) -> dict[str, Any]:
        """Keyword arguments for the connections to the sentinels (short timeouts: they answer at once)."""
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": CONNECT_TIMEOUT_SECONDS,
            "username": self.sentinel_username,
            "password": self.sentinel_password,
        }
        return options | ({"ssl": True} if self.tls else {})


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def _host_port(text: str) -> tuple[str, int]:
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host or (port and not port.isdigit()):
        raise ValueError(f"bad sentinel address {text!r}: expected host[:port]")
    return host, int(port) if port else SENTINEL_PORT


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Raises ValueError naming what is wrong."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in SENTINEL_SCHEMES:
        raise ValueError(f"not a sentinel URL (redis+sentinel:// or rediss+sentinel://): {scheme}://")
    rest, _, query = rest.partition("?")
    location, _, path = rest.partition("/")
    userinfo, _, hosts = location.rpartition("@")
    user, _, password = userinfo.partition(":")
    parts = [part for part in path.split("/") if part]
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError("a sentinel URL names the service and optionally the db: .../<service>[/<db>]")
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    return SentinelUrl(
        sentinels=[_host_port(host) for host in hosts.split(",") if host] or [("localhost", SENTINEL_PORT)],
        service=unquote(parts[0]),
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=unquote(user) or None,
        password=unquote(password) or None,
        sentinel_username=params.get("sentinel_username"),
        sentinel_password=params.get("sentinel_password"),
        tls=SENTINEL_SCHEMES[scheme.lower()],
    )


def connect(url: str, *, blocking_seconds: float = 0) -> Redis:
    """A synchronous client with sdqueue's connection policy; a sentinel URL gives a client of the current
    primary that follows failovers."""
    retry = Retry(RETRY_BACKOFF, RETRIES)
    if is_sentinel_url(url):
        parsed = parse_sentinel_url(url)
        sentinel = Sentinel(parsed.sentinels, sentinel_kwargs=parsed.sentinel_options())
        options = connection_options(blocking_seconds) | parsed.node_options()
        client: Redis = sentinel.master_for(parsed.service, redis_class=Redis, retry=retry, **options)
        return client
    return Redis.from_url(url, retry=retry, **connection_options(blocking_seconds))


def connect_async(url: str, *, blocking_seconds: float = 0) -> AsyncRedis:
    """An asyncio client with sdqueue's connection policy (the API's event streams block on ``XREAD``)."""
    retry = AsyncRetry(RETRY_BACKOFF, RETRIES)
    if is_sentinel_url(url):
        parsed = parse_sentinel_url(url)
        sentinel = AsyncSentinel(parsed.sentinels, sentinel_kwargs=parsed.sentinel_options())
        options = connection_options(blocking_seconds) | parsed.node_options()
        options.pop("connection_class")  # the asyncio connection drops an interrupted one already
        options["ssl"] = parsed.tls
        client: AsyncRedis = sentinel.master_for(parsed.service, redis_class=AsyncRedis, retry=retry, **options)
        return client
    return AsyncRedis.from_url(url, retry=retry, **connection_options(blocking_seconds))


def redacted_url(url: str) -> str:
    """``url`` with its password (and any ``*password=`` query value) replaced by ``***``, for messages and logs."""
    import re

    url = re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&]*", r"\1***", url)
