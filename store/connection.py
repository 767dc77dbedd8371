"""How sdqueue connects to Redis: one policy for every process, so no blocking read times out by accident.

redis-py 8 gives every connection a 5 s ``socket_timeout``. A blocking read that waits longer (RQ's dequeue
``BLPOP``, ``XREAD BLOCK``) then ends in ``TimeoutError``, which RQ takes for a lost connection and answers
with back-off of up to 60 s: an idle worker used to take half a minute or more to start a job. So:

- a connection that blocks (``blocking_seconds``) gets a socket timeout longer than its longest blocking read;
- TCP keepalive and a health check (PING before a command on a connection idle for ``HEALTH_CHECK_SECONDS``)
  still notice a dead peer on a connection that waits a long time;
- commands retry a few times on a dropped connection (redis-py's ``Retry``), briefly, so a caller (the API's
  503, the worker's reconnect loop) learns of a real outage in about a second rather than after ten retries.
"""

from __future__ import annotations

import socket
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 10.0  # a plain command (no blocking read) that takes longer means Redis is stuck
BLOCKING_MARGIN_SECONDS = 15.0  # socket timeout = the longest blocking read + this
HEALTH_CHECK_SECONDS = 30
RETRIES = 3
RETRY_BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)


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


def connect(url: str, *, blocking_seconds: float = 0) -> Redis:
    """A synchronous client with sdqueue's connection policy."""
    return Redis.from_url(url, retry=Retry(RETRY_BACKOFF, RETRIES), **connection_options(blocking_seconds))


def connect_async(url: str, *, blocking_seconds: float = 0) -> AsyncRedis:
    """An asyncio client with sdqueue's connection policy (the API's event streams block on ``XREAD``)."""
    return AsyncRedis.from_url(url, retry=AsyncRetry(RETRY_BACKOFF, RETRIES), **connection_options(blocking_seconds))
