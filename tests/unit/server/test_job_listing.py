"""GET /api/v1/jobs for a user reads that user's own index: its cost does not grow with other users' jobs; the
indexes are written at submit and at cache hits, cleared by the retention sweep, and filled once for older jobs."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from auth.principal import Principal, Role, Scope
from auth.service import AuthService
from schemas.jobs import JobPayload, JobResult, WorkerTimings
from schemas.keys import job_owners_key, owner_jobs_key
from schemas.requests import Txt2ImgRequest
from schemas.settings import Settings
from server.app import Services, build_services
from server.cache import finish_from_cache
from store.cache import CacheEntry
from tests.unit.server.conftest import fake_models
from worker.retention import sweep


def user(name: str) -> Principal:
    return Principal(name=name, roles=[Role.USER], scopes=[Scope.GENERATE, Scope.JOBS_READ], method="api-key")


@pytest.fixture
def service(local_redis: Any, tmp_path: Path) -> Services:
    """The API's services on a redis-server of this test's own (its command counts are this test's alone)."""
    models = fake_models(tmp_path / "models")
    settings = Settings(redis_url=local_redis.url, data_dir=tmp_path / "data", models_dir=models, queue_name="listing")
    redis = Redis.from_url(local_redis.url)
    return build_services(AuthService(settings, redis), redis)


def submit(service: Services, owner: str, count: int) -> list[str]:
    request = Txt2ImgRequest(prompt="a fox", width=64, height=64)
    return [service.submits.submit(request, user(owner)).id for _ in range(count)]


def commands(redis: Redis) -> int:
    stats: Any = redis.info("commandstats")
    return sum(int(entry["calls"]) for entry in stats.values())


def listing_cost(service: Services, owner: str) -> tuple[int, list[str]]:
    before = commands(service.queue.redis)
    page = service.views.list_jobs(owner, None, None, None, 1, 20)
    return commands(service.queue.redis) - before, [item.id for item in page.items]


def test_a_users_listing_costs_the_same_however_many_jobs_others_have(service: Services) -> None:
    """alice's listing sends the same Redis commands with 300 or 600 of bob's jobs in the queue: her queued jobs'
    positions put at most the scheduler's window (schemas.scheduling.WINDOW, 200 jobs) in fair order."""
    alices = submit(service, "alice", 5)
    submit(service, "bob", 300)
    service.views.list_jobs("alice", None, None, None, 1, 20)  # the one-time check for the owner index
    few_cost, few_ids = listing_cost(service, "alice")
    submit(service, "bob", 300)
    many_cost, many_ids = listing_cost(service, "alice")
    assert few_cost == many_cost
    assert few_ids == many_ids == alices[::-1]


def test_admins_list_everyones_jobs(service: Services) -> None:
    """owner None (an admin) reads the global index."""
    ids = submit(service, "alice", 2) + submit(service, "bob", 2)
    page = service.views.list_jobs(None, None, None, None, 1, 20)
    assert [item.id for item in page.items] == ids[::-1]


def test_pages_walk_a_users_jobs_in_order(service: Services) -> None:
    """Pages of the owner index follow each other without gaps, has_more until the last."""
    ids = submit(service, "alice", 5)[::-1]
    pages = [service.views.list_jobs("alice", None, None, None, page, 2) for page in (1, 2, 3)]
    assert [[item.id for item in page.items] for page in pages] == [ids[0:2], ids[2:4], ids[4:]]
    assert [page.has_more for page in pages] == [True, True, False]


def test_the_retention_sweep_clears_the_owner_index(service: Services) -> None:
    """A swept job leaves the owner's index and the owner map too."""
    job_id = submit(service, "alice", 1)[0]
    service.queue.cancel(service.views.fetch(job_id))
    sweep(service.queue.redis, service.queue.settings, now=time.time() + service.queue.settings.retention_seconds + 60)
    assert service.queue.redis.zcard(owner_jobs_key("listing", "alice")) == 0
    assert service.queue.redis.hlen(job_owners_key("listing")) == 0
    assert service.views.list_jobs("alice", None, None, None, 1, 20).items == []


def test_jobs_from_before_the_owner_index_are_indexed_once(service: Services) -> None:
    """Jobs submitted by an older version (global index only) show up in their owner's listing."""
    ids = submit(service, "alice", 2)
    service.queue.redis.delete(owner_jobs_key("listing", "alice"), job_owners_key("listing"))
    fresh = build_services(AuthService(service.queue.settings, service.queue.redis), service.queue.redis)
    assert [item.id for item in fresh.views.list_jobs("alice", None, None, None, 1, 20).items] == ids[::-1]


def test_a_cache_hit_is_indexed_for_its_owner(service: Services) -> None:
    """A job answered from the result cache is in its owner's listing like any other."""
    result = JobResult(
        images=[],
        seeds=[1],
        model="m",
        device="cpu",
        timings=WorkerTimings(load_seconds=0, generate_seconds=0, save_seconds=0),
    )
    entry = CacheEntry(key="k", job_id=uuid.uuid4().hex, bytes=0, result=result.model_dump(mode="json"))
    payload = JobPayload(
        job_id=uuid.uuid4().hex,
        model="m",
        request=Txt2ImgRequest(prompt="a fox", seed=1),
        owner="carol",
        submitted_at=datetime.now(UTC),
    )
    for job_id in (entry.job_id, payload.job_id):  # an entry without images links no file into the folders
        (service.queue.settings.outputs_dir / job_id).mkdir(parents=True)
    finish_from_cache(service.queue.settings, service.queue.redis, payload, entry, "listing")
    assert [item.id for item in service.views.list_jobs("carol", None, None, None, 1, 20).items] == [payload.job_id]
