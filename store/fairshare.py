"""Fair shares between users within a priority, shared by the workers (who pick jobs in this order) and the API
(whose ``position`` is the place in this order).

Start-time fair queueing: each user has a virtual finish tag, the queue a virtual clock. The next job is the
earliest queued job of the user whose ``max(tag, clock)`` is smallest (ties: the job queued first); serving it moves
the clock to that value and the user's tag to it plus ``1 / weight``. With equal weights that is round-robin in the
order users first queued; a user of weight 2 gets two turns per round. A user who comes back after a pause starts at
the clock, so an idle spell earns no burst. State: hash ``sdq:fair:<queue>`` (user -> tag, ``~clock``), updated by
one Lua script per job taken.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq.job import Job

from schemas.keys import fair_share_key

CLOCK_FIELD = "~clock"

_SERVE = """
local clock = tonumber(redis.call('HGET', KEYS[1], '~clock') or '0')
local tag = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local start = math.max(tag, clock)
redis.call('HSET', KEYS[1], '~clock', tostring(start), ARGV[1], tostring(start + 1 / tonumber(ARGV[2])))
return tostring(start)
"""


@dataclass(frozen=True)
class Candidate:
    """A queued job as the scheduler sees it: from its place in the RQ list and its RQ ``meta``."""

    job_id: str
    index: int  # place in its RQ list, 0 = front
    meta: dict[str, Any]

    @property
    def owner(self) -> str:
        return str(self.meta.get("owner") or "")

    @property
    def model(self) -> str | None:
        """The checkpoint a generation job needs; None for control tasks (they carry ``action``)."""
        if self.meta.get("action"):
            return None
        model = self.meta.get("model")
        return str(model) if model else None

    @property
    def weight(self) -> float:
        try:
            return max(0.01, float(self.meta.get("weight", 1.0)))
        except (TypeError, ValueError):
            return 1.0


@dataclass
class FairState:
    tags: dict[str, float]
    clock: float = 0.0

    @classmethod
    def read(cls, redis: Redis, base_queue: str) -> FairState:
        raw: dict[bytes, bytes] = redis.hgetall(fair_share_key(base_queue))  # type: ignore[assignment]
        values = {k.decode(): float(v) for k, v in raw.items()}
        clock = values.pop(CLOCK_FIELD, 0.0)
        return cls(values, clock)


def read_candidates(redis: Redis, queue_key: str, limit: int) -> list[Candidate]:
    """The first ``limit`` jobs of an RQ list with their meta (jobs whose record is gone are left out)."""
    raw_ids: list[bytes] = redis.lrange(queue_key, 0, limit - 1)  # type: ignore[assignment]
    ids = [i.decode() for i in raw_ids]
    if not ids:
        return []
    pipe = redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(Job.key_for(job_id), "status", "meta")  # RQ leaves out an empty meta; every job has a status
    rows = pipe.execute()
    found = []
    for index, (job_id, (status, raw)) in enumerate(zip(ids, rows, strict=True)):
        if status is None:
            continue  # the record is gone (expired or deleted); RQ's own dequeue skips these too
        try:
            meta = json.loads(raw) if raw else {}
        except ValueError:
            meta = {}
        found.append(Candidate(job_id, index, meta if isinstance(meta, dict) else {}))
    return found


def fair_order(candidates: list[Candidate], state: FairState) -> list[Candidate]:
    """The order the fair scheduler serves ``candidates`` (one priority's queue, in queue order) from ``state``."""
    per_user: dict[str, deque[Candidate]] = defaultdict(deque)
    for candidate in sorted(candidates, key=lambda c: c.index):
        per_user[candidate.owner].append(candidate)
    tags = dict(state.tags)
    clock = state.clock
    heap = [(max(tags.get(u, 0.0), clock), jobs[0].index, u) for u, jobs in per_user.items()]
    heapq.heapify(heap)
    ordered: list[Candidate] = []
    while heap:
        key, index, user = heapq.heappop(heap)
        current = max(tags.get(user, 0.0), clock)
        if current > key:  # the clock moved past this user's tag since it was pushed: re-file it
            heapq.heappush(heap, (current, index, user))
            continue
        job = per_user[user].popleft()
        ordered.append(job)
        clock = current
        tags[user] = current + 1 / job.weight
        if per_user[user]:
            heapq.heappush(heap, (tags[user], per_user[user][0].index, user))
    return ordered


def record_served(redis: Redis, base_queue: str, owner: str, weight: float) -> None:
    """Advance the fair-share state for one job of ``owner`` taken by a worker (atomic)."""
    redis.eval(_SERVE, 1, fair_share_key(base_queue), owner, str(max(0.01, weight)))
