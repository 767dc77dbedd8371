"""The result cache's entries in Redis, shared by the API (lookups, stats, clearing) and the worker (new entries).

An entry maps a cache key (sha256 of the canonical request, see ``server/cache.py``) to the job whose output
folder holds the images: ``sdq:cache:<queue>:entry:<key>`` = {job_id, bytes, files}. ``...:lru`` orders the keys by
last use (a sorted set) and ``...:bytes`` adds up their sizes, so the cap (``SDQ_CACHE_MAX_BYTES``) evicts the least
recently used. Entries expire with the retention time, like the jobs they point at. A cached job gets its own
folder with hard links to the entry's files (a copy where links cannot be made): its record, owner and job.json are
its own, and deleting either job leaves the other's files alone.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from schemas.jobs import JobPayload, JobResult, finished_record
from schemas.keys import cache_prefix
from schemas.settings import Settings
from store.files import write_atomically


@dataclass(frozen=True)
class CacheEntry:
    key: str
    job_id: str
    bytes: int
    result: dict[str, Any]  # the generating job's JobResult (image records, seeds, timings)

    @property
    def files(self) -> list[str]:
        """The images and thumbnails, relative to the job's output folder."""
        return [name for image in self.result["images"] for name in (image["file"], image["thumbnail"])]


def link_outputs(source: Path, target: Path, files: list[str]) -> None:
    """Hard-link ``files`` (relative paths) from ``source`` into ``target``; copy where linking is impossible."""
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / name, destination)
        except OSError:
            shutil.copy2(source / name, destination)


def take_entry(outputs_dir: Path, payload: JobPayload, entry: CacheEntry) -> JobResult:
    """Give ``payload``'s job the entry's images (links in its own folder) and its own job.json; its result."""
    folder = outputs_dir / payload.job_id
    link_outputs(outputs_dir / entry.job_id, folder, entry.files)
    result = JobResult.model_validate(entry.result).model_copy(update={"cached": True})
    data = json.dumps(finished_record(payload, result), indent=2).encode()
    write_atomically(folder / "job.json", lambda handle: handle.write(data))
    return result


class CacheStore:
    def __init__(self, redis: Redis, base_queue: str, outputs_dir: Path, ttl: int, max_bytes: int) -> None:
        self.redis = redis
        self.outputs_dir = outputs_dir
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._prefix = cache_prefix(base_queue)

    @classmethod
    def for_settings(cls, settings: Settings, redis: Redis) -> CacheStore:
        return cls(
            redis, settings.queue_name, settings.outputs_dir, settings.retention_seconds, settings.cache_max_bytes
        )

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}:entry:{key}"

    @property
    def _lru(self) -> str:
        return f"{self._prefix}:lru"

    @property
    def _sizes(self) -> str:
        return f"{self._prefix}:sizes"  # key -> bytes, for the cap and the stats

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for ``key`` if its files are all still on disk (a stale entry is dropped); marks it used."""
        raw: dict[bytes, bytes] = self.redis.hgetall(self._entry_key(key))  # type: ignore[assignment]
        if not raw:
            self.redis.zrem(self._lru, key)
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        entry = CacheEntry(key, data["job_id"], int(data["bytes"]), json.loads(data["result"]))
        folder = self.outputs_dir / entry.job_id
        if not all((folder / name).is_file() for name in entry.files):
            self.drop(key)
            return None
        self.redis.zadd(self._lru, {key: time.time()})
        return entry

    def put(self, key: str, job_id: str, result: dict[str, Any]) -> None:
        """Record a finished job's result under ``key`` (replacing an older entry), then evict down to the cap."""
        folder = self.outputs_dir / job_id
        size = sum((folder / name).stat().st_size for name in CacheEntry(key, job_id, 0, result).files)
        self.drop(key)
        with self.redis.pipeline() as pipe:
            pipe.hset(self._entry_key(key), mapping={"job_id": job_id, "bytes": size, "result": json.dumps(result)})
            pipe.expire(self._entry_key(key), self.ttl)
            pipe.zadd(self._lru, {key: time.time()})
            pipe.hset(self._sizes, key, size)
            pipe.execute()
        self._evict()

    def drop(self, key: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.delete(self._entry_key(key))
            pipe.zrem(self._lru, key)
            pipe.hdel(self._sizes, key)
            pipe.execute()

    def _keys(self) -> list[str]:
        """Keys from least to most recently used, without those whose entry expired (pruned here)."""
        keys = [raw.decode() for raw in self.redis.zrange(self._lru, 0, -1)]  # type: ignore[union-attr]
        alive = [key for key in keys if self.redis.exists(self._entry_key(key))]
        for key in set(keys) - set(alive):
            self.drop(key)
        return alive

    def _total(self) -> int:
        return sum(int(v) for v in self.redis.hvals(self._sizes))  # type: ignore[union-attr]

    def _evict(self) -> None:
        keys = self._keys()
        total = self._total()
        while keys and total > self.max_bytes:
            oldest = keys.pop(0)
            total -= int(self.redis.hget(self._sizes, oldest) or 0)  # type: ignore[arg-type]
            self.drop(oldest)

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._keys()), "bytes": self._total()}

    def clear(self) -> int:
        keys = self._keys()
        for key in keys:
            self.drop(key)
        return len(keys)

    def lock(self, key: str, job_id: str, seconds: int) -> bool:
        """Claim the generation of ``key`` for ``job_id`` (False while another job generates it)."""
        lock = f"{self._prefix}:lock:{key}"
        if self.redis.set(lock, job_id, nx=True, ex=seconds):
            return True
        holder = self.redis.get(lock)
        return holder is None or (isinstance(holder, bytes) and holder.decode() == job_id)

    def holder(self, key: str) -> str | None:
        """The job that claimed ``key``, if any."""
        value = self.redis.get(f"{self._prefix}:lock:{key}")
        return value.decode() if isinstance(value, bytes) else None

    def unlock(self, key: str, job_id: str) -> None:
        for name in (f"{self._prefix}:lock:{key}", f"{self._prefix}:pending:{key}"):
            holder = self.redis.get(name)
            if isinstance(holder, bytes) and holder.decode() == job_id:
                self.redis.delete(name)

    def mark_pending(self, key: str, job_id: str) -> bool:
        """Note at submit that ``job_id`` will produce ``key``; False when a queued or running job already will
        (the new job then waits in the queue and takes that job's result: it is not generated twice)."""
        return bool(self.redis.set(f"{self._prefix}:pending:{key}", job_id, nx=True, ex=self.ttl))
