"""Which queued job this worker takes next: priorities, then fair shares between users, then model affinity.

RQ's own dequeue pops the head of the first non-empty queue. Here the worker looks at the first ``WINDOW`` jobs of
the highest non-empty priority queue, orders them fairly (``store.fairshare``), and takes:

1. the fair head when this worker holds its model;
2. else the same user's first job on a model this worker holds (it is that user's turn either way);
3. else the fair head when no other live worker holds its model (this worker loads it);
4. else the fairest job of another user whose model this worker holds or nobody holds; the head is overtaken;
5. else nothing for now (lower priorities wait too: priorities are strict): the head waits for the worker that
   holds its model.

A head waits for its model's holder at most ``SDQ_AFFINITY_WAIT`` seconds after it was first passed over, and is
overtaken by at most ``MAX_PASSES`` jobs of other users (``sdq:passed:<id>``); then any worker takes it, so neither
a busy holder nor another user's stream of jobs can starve it, and fair shares hold between users.

Jobs this worker cannot run (another payload version or release, ``schemas.scheduling.is_compatible``) are never
taken: they stay queued, in place, for a worker that can. A job is claimed with ``LREM``, so of two workers that
chose the same job exactly one gets it. With nothing to take the worker polls every ``POLL_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DequeueTimeout, NoSuchJobError, StopRequested
from rq.job import Job

from schemas.keys import RQ_SERIALIZER, drain_key, passed_over_key
from schemas.scheduling import WINDOW, is_compatible
from schemas.settings import Settings
from schemas.version import VERSION
from store.fairshare import Candidate, FairState, fair_order, read_candidates, record_served
from store.heartbeat import live_heartbeats
from worker.allowed import ProjectJob

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
MAX_PASSES = 1  # a job whose model another worker holds is overtaken by at most this many other users' jobs


class JobPicker:
    """Chooses and claims jobs for one worker. ``loaded`` returns the models this worker holds now."""

    def __init__(self, redis: Redis, settings: Settings, name: str, loaded: Callable[[], list[str]]) -> None:
        self.redis = redis
        self.settings = settings
        self.name = name
        self.loaded = loaded

    # -- the dequeue RQ's loop calls ------------------------------------------------------------------
    def dequeue(self, queues: Iterable[Queue], timeout: int | None) -> tuple[Job, Queue] | None:
        """Like ``Queue.dequeue_any``: a claimed job and its queue; ``timeout`` None = do not wait (burst)."""
        ordered = list(queues)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.is_draining():
                raise StopRequested()
            found = self.take(ordered, patient=deadline is not None)
            if found is not None:
                return found
            if deadline is None:
                return None
            if time.monotonic() >= deadline:
                raise DequeueTimeout(timeout, [q.key for q in ordered])
            time.sleep(POLL_SECONDS)

    def is_draining(self) -> bool:
        return bool(self.redis.exists(drain_key(self.name)))

    def take(self, queues: list[Queue], *, patient: bool = True) -> tuple[Job, Queue] | None:
        """One round: choose in the highest priority queue that has a job this worker can run, and claim it.
        ``patient`` False (a burst worker, which exits when it finds nothing): no waiting for affinity."""
        for queue in queues:
            runnable = [c for c in read_candidates(self.redis, queue.key, WINDOW) if is_compatible(c.meta, VERSION)]
            if not runnable:
                continue
            for candidate in self.preference(runnable, patient=patient):
                if self.redis.lrem(queue.key, 1, candidate.job_id) != 1:
                    continue  # another worker claimed it (or a cancel removed it) first
                record_served(self.redis, self.settings.queue_name, candidate.owner, candidate.weight)
                self.redis.delete(passed_over_key(candidate.job_id))
                try:
                    job = ProjectJob.fetch(candidate.job_id, connection=self.redis, serializer=RQ_SERIALIZER)
                except NoSuchJobError:
                    continue
                return job, queue
            # Nothing claimed: this priority's jobs wait for the workers holding their models (bounded), or others
            # claimed them meanwhile. Lower priorities wait too: priorities are strict.
            return None
        return None

    # -- the choice ------------------------------------------------------------------------------------
    def preference(self, runnable: list[Candidate], *, patient: bool = True) -> list[Candidate]:
        """The jobs this worker should take now, best first (usually one; empty: leave them for others)."""
        ordered = fair_order(runnable, FairState.read(self.redis, self.settings.queue_name))
        head = ordered[0]
        if self.settings.affinity_wait <= 0 or not patient:
            return ordered
        mine = set(self.loaded())
        if head.model is None or head.model in mine:
            return [head]
        same_user = [c for c in ordered if c.owner == head.owner and c.model in mine]
        if same_user:  # it is this user's turn either way: their job on a model resident here
            return same_user[:1]
        held = self.models_of_peers()
        if head.model not in held:
            return [head]
        others = [c for c in ordered if c.model is None or c.model in mine or c.model not in held]
        waited, passes = self.note_passed_over(head.job_id, overtaken=bool(others))
        if passes >= MAX_PASSES or waited >= self.settings.affinity_wait:
            log.info("job %s: passed over for affinity long enough; taking it (%s)", head.job_id, head.model)
            return [head]
        return others[:1]

    def note_passed_over(self, job_id: str, *, overtaken: bool) -> tuple[float, int]:
        """Note that ``job_id`` waits for a worker holding its model (``overtaken``: another job goes first);
        returns the seconds since it was first passed over and how often it was overtaken before this time."""
        key = passed_over_key(job_id)
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.hsetnx(key, "first", now)
        pipe.hincrby(key, "count", 1 if overtaken else 0)
        pipe.hget(key, "first")
        pipe.expire(key, max(60, self.settings.retention_seconds))
        _, count, first, _ = pipe.execute()
        return now - float(first), int(count) - (1 if overtaken else 0)

    def models_of_peers(self) -> set[str]:
        """Models resident on (or being loaded by) the other live, non-draining workers of this queue."""
        peers = live_heartbeats(self.redis, self.settings.queue_name)
        return {m for beat in peers if beat.name != self.name and not beat.draining for m in beat.holds}


def picking_queue_class(picker: JobPicker) -> type[Queue]:
    """A ``Queue`` subclass whose ``dequeue_any`` (what RQ's worker loop calls) asks ``picker``."""

    def dequeue_any(cls: Any, queues: Iterable[Queue], timeout: int | None, **_: Any) -> tuple[Job, Queue] | None:
        return picker.dequeue(queues, timeout)

    return type("PickingQueue", (Queue,), {"dequeue_any": classmethod(dequeue_any)})
