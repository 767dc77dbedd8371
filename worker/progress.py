"""Per-job progress in a Redis hash (``schemas.keys.progress_key``) that the API reads."""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from schemas.keys import progress_key


class ProgressReporter:
    """Writes {step, total, stage, updated_at} for one job; the hash expires with the job record."""

    def __init__(self, redis: Redis, job_id: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._key = progress_key(job_id)
        self._ttl = ttl_seconds

    def stage(self, stage: str, step: int = 0, total: int = 0) -> None:
        self._write({"stage": stage, "step": step, "total": total})

    def step(self, step: int, total: int) -> None:
        self._write({"stage": "denoising", "step": step, "total": total})

    def _write(self, fields: dict[Any, Any]) -> None:
        fields["updated_at"] = time.time()
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._key, mapping=fields)
        pipe.expire(self._key, self._ttl)
        pipe.execute()
