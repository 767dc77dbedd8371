"""The job indexes in Redis, written at submit (and at result-cache hits) and cleared by the retention sweep.

``sdq:jobs:<queue>`` orders every job id by submit time (admins' listing, retention); ``...:owner:<owner>`` does the
same for one owner's jobs, so a user's listing reads only their own; ``...:owners`` maps job id -> owner so the sweep
finds a job's owner index even after the job's own record expired.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.client import Pipeline

from schemas.keys import job_owners_key, jobs_index_key, owner_jobs_key


def add_job(redis: Redis | Pipeline, base_queue: str, job_id: str, owner: str, submitted: float) -> None:
    """Index a new job (on a pipeline: as part of it)."""
    redis.zadd(jobs_index_key(base_queue), {job_id: submitted})
    redis.zadd(owner_jobs_key(base_queue, owner), {job_id: submitted})
    redis.hset(job_owners_key(base_queue), job_id, owner)


def remove_job(redis: Redis, base_queue: str, job_id: str) -> None:
    """Drop a job from every index."""
    owner: Any = redis.hget(job_owners_key(base_queue), job_id)
    with redis.pipeline() as pipe:
        pipe.zrem(jobs_index_key(base_queue), job_id)
        if owner is not None:
            pipe.zrem(owner_jobs_key(base_queue, owner.decode()), job_id)
        pipe.hdel(job_owners_key(base_queue), job_id)
        pipe.execute()


def newest_ids(redis: Redis, key: str, low: float | str, start: int, count: int) -> list[str]:
    """Up to ``count`` ids of the sorted set ``key``, newest first from position ``start``, submitted at ``low``
    or later."""
    members: Any = redis.zrevrangebyscore(key, "+inf", low, start=start, num=count)
    return [raw.decode() for raw in members]
