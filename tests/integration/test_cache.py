"""The result cache through the real API and worker: a hit finishes at once without the worker, identical
requests in flight are generated once, force_regenerate and unseeded requests bypass it, stats and clearing."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.conftest import Stack
from tests.integration.test_metrics import scrape, value

pytestmark = pytest.mark.integration


def image_bytes(stack: Stack, view: dict) -> list[bytes]:
    return [requests.get(stack.url(image["url"]), timeout=10).content for image in view["images"]]


def test_a_hit_finishes_at_once_without_the_worker(make_stack) -> None:
    stack = make_stack(SDQ_CACHE_ENABLED="true")
    first = stack.run(seed=21, batch_size=2)
    assert first["status"] == "finished" and not first["cached"]
    assert stack.worker is not None
    stack.worker.terminate()
    stack.worker.wait(timeout=30)
    response = stack.submit(seed=21, batch_size=2, priority="low")  # priority does not change pixels
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["status"] == "finished" and accepted["cached"] and accepted["id"] != first["id"]
    view = stack.get(f"/api/v1/jobs/{accepted['id']}")
    assert view["status"] == "finished" and view["cached"] and view["seeds"] == first["seeds"]
    assert image_bytes(stack, view) == image_bytes(stack, first)
    assert stack.get("/api/v1/queue")["counts"]["queued"] == 0  # nothing was enqueued
    events = requests.get(stack.url(f"/api/v1/jobs/{accepted['id']}/events"), timeout=10, stream=True)
    assert "event: finished" in next(events.iter_lines(decode_unicode=True, delimiter="\n\n"))
    stats = stack.get("/api/v1/cache/stats")
    assert (stats["hits"], stats["misses"], stats["entries"]) == (1, 1, 1) and stats["bytes"] > 0


def test_identical_requests_in_flight_are_generated_once(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_CACHE_ENABLED="true")
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(stack.submit(seed=33, steps=3))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [202] * 4
    stack.start_worker()
    views = [stack.wait_job(a.json()["id"]) for a in answers]
    assert all(v["status"] == "finished" for v in views)
    assert sum(not v["cached"] for v in views) == 1  # one generated, three took its images
    assert len({tuple(image_bytes(stack, v)) for v in views}) == 1
    samples = scrape(stack)
    assert value(samples, "sdq_denoise_steps_total", model="tiny") == 3  # one image, three steps: once
    assert value(samples, "sdq_cache_requests_total", result="attached") == 3


def test_force_regenerate_and_unseeded_requests_bypass_the_cache(make_stack) -> None:
    stack = make_stack(SDQ_CACHE_ENABLED="true")
    first = stack.run(seed=44)
    forced = stack.submit(seed=44, force_regenerate=True)
    assert forced.status_code == 202
    assert not stack.wait_job(forced.json()["id"])["cached"]
    assert stack.submit(seed=44).status_code == 200  # the regenerated result is cached in its place
    assert first["status"] == "finished"
    random_seed = [stack.submit(seed=-1) for _ in range(2)]
    assert [r.status_code for r in random_seed] == [202, 202]
    for response in random_seed:
        stack.wait_job(response.json()["id"])


def test_a_changed_parameter_misses_and_clearing_empties_the_cache(make_stack) -> None:
    stack = make_stack(SDQ_CACHE_ENABLED="true")
    assert stack.run(seed=55)["status"] == "finished"
    assert stack.submit(seed=55, cfg_scale=5).status_code == 202  # another request: no hit
    removed = requests.delete(stack.url("/api/v1/cache"), timeout=10)
    assert removed.status_code == 200 and removed.json()["removed"] >= 1
    assert stack.get("/api/v1/cache/stats")["entries"] == 0
    assert stack.submit(seed=55).status_code == 202  # generated again


def test_a_claim_left_by_a_job_that_no_longer_runs_is_taken_over(make_stack) -> None:
    """A worker that died mid-generation leaves its claim on the key; the next identical job does not wait for it."""
    from redis import Redis
    from rq.job import Job

    stack = make_stack(SDQ_CACHE_ENABLED="true")
    first = stack.run(seed=66)
    redis = Redis.from_url(stack.env["SDQ_REDIS_URL"])
    key = Job.fetch(first["id"], connection=redis, serializer="rq.serializers.JSONSerializer").args[0]["cache_key"]
    requests.delete(stack.url("/api/v1/cache"), timeout=10)
    redis.set(f"sdq:cache:{stack.env['SDQ_QUEUE_NAME']}:lock:{key}", "f" * 32, ex=3600)  # a job that is gone
    again = stack.run(seed=66)
    assert again["status"] == "finished" and not again["cached"]
