"""The Redis records the worker writes and the API reads: each written record reads back equal, on a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis

from store.heartbeat import WorkerHeartbeat, delete_heartbeat, is_alive, live_heartbeats
from store.progress import ProgressRecord
from store.stepstats import SMOOTHING, StepStats, read_step_stats, record_step_stats
from store.usage import StorageUsage
from tests.conftest import RedisServer


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def test_progress_reads_back_as_written_with_unknowns_kept_unknown(redis: Redis) -> None:
    job_id = uuid.uuid4().hex
    assert ProgressRecord.read(redis, job_id) is None
    for record in (
        ProgressRecord(stage="loading", step=0, total=20),
        ProgressRecord(stage="denoising", step=7, total=20, its=3.5, eta_seconds=3.714),
    ):
        pipe = redis.pipeline()
        record.queue_write(pipe, job_id, 60)
        pipe.execute()
        assert ProgressRecord.read(redis, job_id) == record
    assert 0 < redis.ttl(f"sdq:progress:{job_id}") <= 60


def test_heartbeat_reads_back_and_lists_only_live_workers_of_the_queue(redis: Redis) -> None:
    queue = uuid.uuid4().hex
    beat = WorkerHeartbeat(
        name=f"w-{queue}",
        queue=queue,
        pid=42,
        device="cpu float32",
        previews="off",
        models_loaded=["tiny", "other"],
        policy={"dtype": "float32"},
        model_memory={"used_bytes": 10},
        features={"invisible_watermark": True},
    )
    beat.write(redis, 30)
    WorkerHeartbeat(name=f"x-{queue}", queue="another-queue").write(redis, 30)
    assert live_heartbeats(redis, queue) == [beat]
    view = beat.view()
    assert view.gpu is None and view.current_job is None and view.models_loaded == ["tiny", "other"]
    assert is_alive(redis, beat.name)
    delete_heartbeat(redis, beat.name)
    assert not is_alive(redis, beat.name) and live_heartbeats(redis, queue) == []


def test_step_stats_smooth_each_new_measurement_into_the_last(redis: Redis) -> None:
    model = uuid.uuid4().hex
    first = record_step_stats(redis, model, "64x64", StepStats(s_per_step=1.0, overhead_s=0.5))
    assert first == StepStats(s_per_step=1.0, overhead_s=0.5, n=1)
    second = record_step_stats(redis, model, "64x64", StepStats(s_per_step=2.0, overhead_s=0.5))
    assert second.n == 2
    assert second.s_per_step == pytest.approx(SMOOTHING * 2.0 + (1 - SMOOTHING) * 1.0)
    assert read_step_stats(redis, model) == {"64x64": second}


def test_storage_usage_reads_back_as_written(redis: Redis) -> None:
    queue = uuid.uuid4().hex
    assert StorageUsage.read(redis, queue) is None
    usage = StorageUsage(bytes=1234, folders=3, swept_at=1_700_000_000.5)
    usage.write(redis, queue)
    assert StorageUsage.read(redis, queue) == usage
    assert usage.view().swept_at is not None and usage.view().swept_at.timestamp() == 1_700_000_000.5
