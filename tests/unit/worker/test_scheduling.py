"""Which job a worker takes: priorities, fair shares, model affinity with a bounded wait, compatible versions only,
draining. Real Redis and real RQ queues; the worker process itself is tested in tests/integration/test_scale.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import StopRequested

from schemas.keys import RQ_SERIALIZER, RUN_JOB_TASK, drain_key, queue_names
from schemas.scheduling import PAYLOAD_VERSION, is_compatible
from schemas.settings import Settings
from store.heartbeat import WorkerHeartbeat
from tests.conftest import RedisServer
from worker.allowed import ProjectJob
from worker.scheduling import JobPicker


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


class Cluster:
    """One queue (three priorities) on the test Redis, jobs put in with the meta the API writes."""

    def __init__(self, redis: Redis, affinity_wait: float = 30.0) -> None:
        self.redis = redis
        self.settings = Settings(queue_name=f"sched-{uuid.uuid4().hex[:8]}", affinity_wait=affinity_wait)
        self.queues = [
            Queue(n, connection=redis, serializer=RQ_SERIALIZER, job_class=ProjectJob)
            for n in queue_names(self.settings.queue_name)
        ]

    def put(self, model: str, owner: str = "u", priority: int = 1, **meta: Any) -> str:
        job = self.queues[priority].enqueue_call(
            RUN_JOB_TASK, args=({},), meta={"owner": owner, "model": model, "payload_version": PAYLOAD_VERSION, **meta}
        )
        return str(job.id)

    def peer(self, *models: str, draining: bool = False) -> None:
        WorkerHeartbeat(
            name=f"peer-{uuid.uuid4().hex[:6]}",
            queue=self.settings.queue_name,
            models_loaded=list(models),
            draining=draining,
        ).write(self.redis, 30)

    def picker(self, *loaded: str) -> JobPicker:
        return JobPicker(self.redis, self.settings, f"me-{uuid.uuid4().hex[:6]}", lambda: list(loaded))

    def take(self, picker: JobPicker) -> str | None:
        found = picker.take(self.queues)
        return None if found is None else str(found[0].id)


def test_a_worker_takes_the_job_whose_model_it_holds_and_leaves_the_others_model_to_it(redis: Redis) -> None:
    cluster = Cluster(redis)
    cluster.peer("b")
    b_job, a_job = cluster.put("b"), cluster.put("a")
    assert cluster.take(cluster.picker("a")) == a_job
    assert cluster.take(cluster.picker("a")) is None  # only b's job is left, and a live worker holds b
    assert cluster.take(cluster.picker("b")) == b_job


def test_a_model_no_worker_holds_goes_to_any_worker(redis: Redis) -> None:
    cluster = Cluster(redis)
    cluster.peer("b")
    cluster.put("b")
    c_job = cluster.put("c")
    assert cluster.take(cluster.picker("a")) == c_job


def test_a_draining_peer_holds_nothing(redis: Redis) -> None:
    cluster = Cluster(redis)
    cluster.peer("b", draining=True)
    b_job = cluster.put("b")
    assert cluster.take(cluster.picker("a")) == b_job


def test_a_passed_over_job_is_taken_by_any_worker_after_the_affinity_wait(redis: Redis) -> None:
    cluster = Cluster(redis, affinity_wait=0.4)
    cluster.peer("b")
    b_job = cluster.put("b")
    picker = cluster.picker("a")
    assert cluster.take(picker) is None
    time.sleep(0.5)
    assert cluster.take(picker) == b_job


def test_higher_priority_first_then_users_in_turn(redis: Redis) -> None:
    """The turns are counted across priorities: ann's urgent job was her turn, so bob's job comes next."""
    cluster = Cluster(redis)
    first_a = [cluster.put("a", owner="ann") for _ in range(3)]
    bob = cluster.put("a", owner="bob")
    urgent = cluster.put("a", owner="ann", priority=0)
    picker = cluster.picker("a")
    assert [cluster.take(picker) for _ in range(5)] == [urgent, bob, *first_a]


def test_jobs_of_another_payload_version_or_release_stay_queued_in_place(redis: Redis) -> None:
    cluster = Cluster(redis)
    newer = cluster.put("a", payload_version=PAYLOAD_VERSION + 1)
    other_release = cluster.put("a", version="99.0.0")
    runnable = cluster.put("a")
    picker = cluster.picker("a")
    assert cluster.take(picker) == runnable
    assert cluster.take(picker) is None
    assert cluster.queues[1].get_job_ids() == [newer, other_release]
    assert not is_compatible({"payload_version": PAYLOAD_VERSION + 1}, "0.1.0")
    assert is_compatible({"version": "0.1.7"}, "0.1.2") and not is_compatible({"version": "0.2.0"}, "0.1.2")


def test_a_drain_request_stops_the_dequeue_and_takes_nothing(redis: Redis) -> None:
    cluster = Cluster(redis)
    job = cluster.put("a")
    picker = cluster.picker("a")
    redis.set(drain_key(picker.name), 1, ex=30)
    with pytest.raises(StopRequested):
        picker.dequeue(cluster.queues, timeout=1)
    assert cluster.queues[1].get_job_ids() == [job]


def test_two_workers_choosing_the_same_job_claim_it_once(redis: Redis) -> None:
    cluster = Cluster(redis)
    only = cluster.put("a")
    one, two = cluster.picker("a"), cluster.picker("a")
    assert [cluster.take(one), cluster.take(two)] == [only, None]
    assert picker_times_out(cluster, two)


def picker_times_out(cluster: Cluster, picker: JobPicker) -> bool:
    from rq.exceptions import DequeueTimeout

    started = time.monotonic()
    try:
        picker.dequeue(cluster.queues, timeout=1)
    except DequeueTimeout:
        return 0.9 <= time.monotonic() - started < 3
    return False


def test_another_users_job_overtakes_a_waiting_head_at_most_once(redis: Redis) -> None:
    """bob's turn, but his job's model is on a busy peer: one of ann's jobs on this worker's model goes first, then
    bob's job is taken here (loaded) rather than overtaken again: fair shares between users hold."""
    cluster = Cluster(redis)
    cluster.peer("b")
    bob = cluster.put("b", owner="bob")
    ann = [cluster.put("a", owner="ann") for _ in range(3)]
    picker = cluster.picker("a")
    assert [cluster.take(picker) for _ in range(3)] == [ann[0], bob, ann[1]]


def test_a_burst_worker_does_not_wait_for_affinity(redis: Redis) -> None:
    """`sdqueue worker --burst` exits when it finds nothing to take, so it takes what is there."""
    cluster = Cluster(redis)
    cluster.peer("b")
    b_job = cluster.put("b")
    found = cluster.picker("a").dequeue(cluster.queues, timeout=None)
    assert found is not None and found[0].id == b_job


def test_a_job_without_meta_is_taken_like_any_other(redis: Redis) -> None:
    """RQ stores no meta field for an empty meta (a job queued by other code): it is still a job to run."""
    cluster = Cluster(redis)
    bare = cluster.queues[1].enqueue_call(RUN_JOB_TASK, args=({},))
    assert redis.hget(bare.key, "meta") is None
    assert cluster.take(cluster.picker("a")) == bare.id
