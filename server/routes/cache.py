"""The result cache: its statistics, and clearing it (admins)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from redis import Redis
from starlette.concurrency import run_in_threadpool

from auth.deps import CanReadJobs, QueueAdmin
from schemas.settings import Settings
from server.deps import CacheDep, RedisDep, SettingsDep, problem_responses
from store.cache import CacheStore
from store.metrics import read_samples

router = APIRouter(prefix="/api/v1", tags=["cache"])


class CacheStats(BaseModel):
    enabled: bool
    hits: int = Field(description="Submits answered from the cache (200), plus queued jobs that took a result.")
    misses: int = Field(description="Cacheable submits with no entry: generated.")
    attached: int = Field(description="Submits identical to a job still queued or running: they take its result.")
    entries: int
    bytes: int
    max_bytes: int = Field(description="SDQ_CACHE_MAX_BYTES; the least recently used entries go first.")


class CacheCleared(BaseModel):
    removed: int = Field(description="Entries removed (the jobs and their images stay).")


def _stats(settings: Settings, redis: Redis, cache: CacheStore) -> CacheStats:
    counts = {"hit": 0.0, "miss": 0.0, "attached": 0.0}
    for sample in read_samples(redis, settings.queue_name):
        if sample.name == "cache_requests":
            counts[sample.labels.get("result", "")] = counts.get(sample.labels.get("result", ""), 0) + sample.value
    now = cache.stats()
    return CacheStats(
        enabled=settings.cache_enabled,
        hits=int(counts["hit"]),
        misses=int(counts["miss"]),
        attached=int(counts["attached"]),
        entries=now["entries"],
        bytes=now["bytes"],
        max_bytes=settings.cache_max_bytes,
    )


@router.get("/cache/stats", response_model=CacheStats, responses=problem_responses(401, 403, 503), summary="Cache use")
async def cache_stats(settings: SettingsDep, redis: RedisDep, cache: CacheDep, principal: CanReadJobs) -> CacheStats:
    return await run_in_threadpool(_stats, settings, redis, cache)


@router.delete(
    "/cache",
    response_model=CacheCleared,
    responses=problem_responses(401, 403, 503),
    summary="Empty the result cache (needs queue:admin); jobs and their images are not touched",
)
async def clear_cache(cache: CacheDep, principal: QueueAdmin) -> CacheCleared:
    return CacheCleared(removed=await run_in_threadpool(cache.clear))
