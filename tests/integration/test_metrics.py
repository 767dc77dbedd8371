"""Metrics move as jobs run: ``/metrics`` (Prometheus text, parsed with prometheus-client) and the summary in
``GET /api/v1/system``. The stack has its own queue, so it counts only this test's jobs."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack

pytestmark = pytest.mark.integration


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(stack.url("/metrics"), timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_histograms_and_gauges_follow_the_jobs(make_stack) -> None:
    stack = make_stack(worker=False)
    queued = stack.submit_id(seed=1)
    samples = scrape(stack)
    assert value(samples, "sdq_queue_depth", priority="normal") == 1
    assert value(samples, "sdq_jobs_submitted_total", mode="txt2img") == 1
    assert value(samples, "sdq_workers_alive") == 0
    requests.post(stack.url(f"/api/v1/jobs/{queued}/cancel"), timeout=10)
    assert value(scrape(stack), "sdq_jobs_total", mode="txt2img", status="canceled") == 1

    stack.start_worker()
    assert stack.run(seed=2, batch_size=2)["status"] == "finished"
    assert stack.run(seed=3, model="broken")["status"] == "failed"
    samples = scrape(stack)
    assert value(samples, "sdq_jobs_total", mode="txt2img", status="finished") == 1
    assert value(samples, "sdq_jobs_total", mode="txt2img", status="failed") == 1
    assert value(samples, "sdq_jobs_submitted_total", mode="txt2img") == 3
    assert value(samples, "sdq_generation_seconds_count", mode="txt2img", model="tiny") == 2  # one per image
    assert value(samples, "sdq_generation_seconds_sum", mode="txt2img", model="tiny") > 0
    assert value(samples, "sdq_denoise_steps_total", model="tiny") == 4  # 2 steps x 2 images
    assert value(samples, "sdq_model_loads_total", model="tiny") == 1  # preloaded at start, then resident
    assert value(samples, "sdq_model_load_seconds_count", model="tiny") == 1
    assert value(samples, "sdq_queue_depth", priority="normal") == 0 and value(samples, "sdq_workers_alive") == 1

    people = stack.get("/api/v1/system")["metrics"]
    finished = [c for c in people["jobs"] if c["labels"] == {"mode": "txt2img", "status": "finished"}]
    assert finished[0]["value"] == 1 and people["step_rate"]["tiny"] > 0
