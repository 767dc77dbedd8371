"""Open event streams per principal: a Redis sorted set of slots that streams refresh and release, and that lapse
when a crashed API process can no longer do either."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis as AsyncRedis

from schemas.errors import TooManyRequests
from server.streams import StreamSlot


def run(redis_url: str, scenario: Any) -> Any:
    async def main() -> Any:
        redis = AsyncRedis.from_url(redis_url)
        try:
            return await scenario(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def test_the_stream_past_the_limit_is_refused_until_one_closes(redis_server) -> None:  # type: ignore[no-untyped-def]
    """With two open, a third is a 429; after one is released a third opens."""
    owner = f"streams-{uuid.uuid4().hex[:8]}"

    async def scenario(redis: AsyncRedis) -> None:
        first, second = StreamSlot(redis, owner), StreamSlot(redis, owner)
        await first.acquire(2)
        await second.acquire(2)
        with pytest.raises(TooManyRequests) as caught:
            await StreamSlot(redis, owner).acquire(2)
        assert "SDQ_MAX_EVENT_STREAMS_PER_USER" in caught.value.detail and caught.value.retry_after >= 1
        await first.release()
        await StreamSlot(redis, owner).acquire(2)
        assert await redis.zcard(f"sdq:streams:{owner}") == 2  # the refused one took no slot

    run(redis_server.url, scenario)


def test_slots_not_refreshed_lapse_after_their_ttl(redis_server) -> None:  # type: ignore[no-untyped-def]
    """Slots of a process that died (never released, never refreshed) stop counting after the TTL."""
    owner = f"streams-{uuid.uuid4().hex[:8]}"

    async def scenario(redis: AsyncRedis) -> None:
        await StreamSlot(redis, owner, ttl=1).acquire(1)  # "crashed": never released
        with pytest.raises(TooManyRequests):
            await StreamSlot(redis, owner, ttl=1).acquire(1)
        await asyncio.sleep(1.2)
        await StreamSlot(redis, owner, ttl=1).acquire(1)

    run(redis_server.url, scenario)


def test_a_refreshed_slot_keeps_counting(redis_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A live stream refreshes its slot, so it does not lapse while it runs."""
    owner = f"streams-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr("server.streams.REFRESH_SECONDS", 0)

    async def scenario(redis: AsyncRedis) -> None:
        live = StreamSlot(redis, owner, ttl=1)
        await live.acquire(1)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            await live.refresh()
            await asyncio.sleep(0.2)
        with pytest.raises(TooManyRequests):
            await StreamSlot(redis, owner, ttl=1).acquire(1)

    run(redis_server.url, scenario)
