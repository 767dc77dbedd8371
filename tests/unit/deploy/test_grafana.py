"""deploy/grafana: the dashboard queries only metric names that ``/metrics`` exposes. The exposed names come from
the real renderer (``server.metrics.render``) over a real Redis in which every Redis-kept metric has a sample and a
worker with a GPU has a heartbeat, so a renamed or removed metric fails this test."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from schemas.settings import Settings
from server.metrics import render
from server.queue import QueueState
from store.heartbeat import WorkerHeartbeat
from store.metrics import METRICS

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "sdqueue-dashboard.json"
METRIC_NAME = re.compile(r"\b(sdq_[a-z0-9_]+)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


@pytest.fixture(scope="module")
def exposed(redis_server: Any) -> set[str]:
    settings = Settings(queue_name=f"grafana-{uuid.uuid4().hex[:8]}", redis_url=redis_server.url)
    redis = Redis.from_url(settings.redis_url)
    queue = QueueState(settings, redis)
    for name, (kind, _) in METRICS.items():
        if kind == "histogram":
            queue.metrics.observe(name, 1.0, model="m")
        else:
            queue.metrics.count(name, model="m")
    gpu = {"memory_used_bytes": 1, "memory_total_bytes": 2, "utilization": 0.5}
    WorkerHeartbeat(name=f"w-{uuid.uuid4().hex[:6]}", queue=settings.queue_name, gpu=gpu).write(redis, 30)
    names: set[str] = set()
    for family in text_string_to_metric_families(render(queue).decode()):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_has_panels_with_queries() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"] and all(panel["targets"] for panel in dashboard["panels"])
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("expr", expressions())
def test_every_metric_a_query_names_is_exposed(expr: str, exposed: set[str]) -> None:
    used = set(METRIC_NAME.findall(expr))
    assert used, f"no sdq_ metric in {expr!r}"
    assert used <= exposed, f"not exposed by /metrics: {sorted(used - exposed)}"


def test_the_exposed_names_are_what_the_renderer_writes(exposed: set[str]) -> None:
    """The check above compares with real output: the names are there, a made-up one is not."""
    assert {
        "sdq_jobs_total",
        "sdq_generation_seconds_bucket",
        "sdq_queue_depth",
        "sdq_gpu_utilization_ratio",
    } <= exposed
    assert "sdq_jobs_finished_total" not in exposed
