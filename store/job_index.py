"""The job indexes in Redis, written at submit (and at result-cache hits) and cleared by the retention sweep.

``sdq:jobs:<queue>`` orders every job id by submit time (admins' listing, retention); ``...:owner:<owner>`` does the
same for one owner's jobs, so a user's listing reads only their own; ``...:owners`` maps job id -> owner so the sweep
finds a job's owner index even after the job's own record expired.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq.job import Job

from schemas.keys import RQ_SERIALIZER, job_owners_key, jobs_index_key, owner_jobs_key


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


def backfill_owner_index(redis: Redis, base_queue: str, batch: int = 100) -> None:
    """Index by owner the jobs submitted before the owner indexes existed: once per queue (a marker key records
    that it ran), by whichever API process lists first."""
    marker = f"{jobs_index_key(base_queue)}:owner-index"
    if redis.exists(marker):
        return
    members: Any = redis.zrange(jobs_index_key(base_queue), 0, -1, withscores=True)
    indexed: Any = redis.hkeys(job_owners_key(base_queue))
    known = {raw.decode() for raw in indexed}
    missing = [(raw.decode(), score) for raw, score in members if raw.decode() not in known]
    for begin in range(0, len(missing), batch):
        chunk = missing[begin : begin + batch]
        jobs = Job.fetch_many([job_id for job_id, _ in chunk], connection=redis, serializer=RQ_SERIALIZER)
        with redis.pipeline() as pipe:
            for (job_id, score), job in zip(chunk, jobs, strict=True):
                if job is not None and job.meta.get("owner"):
                    add_job(pipe, base_queue, job_id, str(job.meta["owner"]), score)
            pipe.execute()
    redis.set(marker, 1)
