"""Open event streams per principal, counted in Redis so every API process sees the same number.

Each open ``GET /api/v1/jobs/{id}/events`` holds a slot: a random id in ``sdq:streams:<owner>``, a sorted set scored
by the time the stream last said it is alive. A stream refreshes its slot every :data:`REFRESH_SECONDS` while it
runs and removes it when it ends (finished job, client gone, server shutdown). Slots not refreshed for
:data:`SLOT_TTL_SECONDS` no longer count: an API process that crashed (or lost Redis) with streams open frees them
after a minute instead of leaking them forever.
"""

from __future__ import annotations

import logging
import secrets
import time

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas.errors import TooManyRequests
from schemas.keys import event_streams_key

SLOT_TTL_SECONDS = 60
REFRESH_SECONDS = 15
RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)


class StreamSlot:
    """One open stream's slot: :meth:`refresh` while it runs, :meth:`release` once."""

    def __init__(self, redis: AsyncRedis, owner: str, ttl: float = SLOT_TTL_SECONDS) -> None:
        self.redis = redis
        self.key = event_streams_key(owner)
        self.id = secrets.token_hex(8)
        self.ttl = ttl
        self.refreshed = 0.0

    async def acquire(self, limit: int) -> None:
        """Take the slot; TooManyRequests (429) when ``limit`` streams of the owner are open already."""
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self.key, "-inf", now - self.ttl)
            pipe.zadd(self.key, {self.id: now})
            pipe.zcard(self.key)
            pipe.expire(self.key, int(self.ttl) + 1)
            _, _, count, _ = await pipe.execute()
        if int(count) > limit:
            await self.release()
            raise TooManyRequests(
                f"{limit} event streams of yours are open (SDQ_MAX_EVENT_STREAMS_PER_USER); close one first",
                RETRY_AFTER_SECONDS,
            )
        self.refreshed = now

    async def refresh(self) -> None:
        """Say the stream is still open (writes at most every REFRESH_SECONDS)."""
        now = time.time()
        if now - self.refreshed < REFRESH_SECONDS:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.key, {self.id: now})
            pipe.expire(self.key, int(self.ttl) + 1)
            await pipe.execute()
        self.refreshed = now

    async def release(self) -> None:
        """Give the slot back; when Redis is unreachable the slot lapses after SLOT_TTL_SECONDS instead."""
        try:
            await self.redis.zrem(self.key, self.id)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("event stream slot %s not released (%s); it lapses in %d s", self.id, exc, self.ttl)
