"""``/metrics``: the Redis-kept service metrics (``store.metrics``) plus live queue and worker gauges, rendered in
the Prometheus text format by prometheus-client at scrape time (a custom collector: nothing is cached here)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.jobs import WorkerView
from schemas.keys import Priority
from server.queue import QueueState
from store.metrics import METRICS, Sample, read_samples

PREFIX = "sdq_"


def _label_names(samples: list[Sample]) -> list[str]:
    return sorted({key for sample in samples for key in sample.labels})


def _counter(name: str, help_text: str, samples: list[Sample]) -> Metric:
    names = _label_names(samples)
    family = CounterMetricFamily(PREFIX + name, help_text, labels=names)
    for sample in samples:
        family.add_metric([sample.labels.get(key, "") for key in names], sample.value)
    return family


def _histogram(name: str, help_text: str, samples: list[Sample]) -> Metric:
    names = _label_names(samples)
    family = HistogramMetricFamily(PREFIX + name, help_text, labels=names)
    series: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for sample in samples:
        series[tuple(sample.labels.get(key, "") for key in names)][sample.suffix] = sample.value
    for labels, values in sorted(series.items()):
        bounds = sorted((float(le), count) for le, count in values.items() if le not in ("+Inf", "_sum"))
        buckets = [(repr(bound), count) for bound, count in bounds] + [("+Inf", values.get("+Inf", 0.0))]
        family.add_metric(list(labels), buckets, sum_value=values.get("_sum", 0.0))
    return family


class ServiceCollector(Collector):
    def __init__(self, queue: QueueState) -> None:
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        grouped: dict[str, list[Sample]] = defaultdict(list)
        for sample in read_samples(self.queue.redis, self.queue.settings.queue_name):
            grouped[sample.name].append(sample)
        for name, (kind, help_text) in METRICS.items():
            samples = grouped.get(name, [])
            yield _histogram(name, help_text, samples) if kind == "histogram" else _counter(name, help_text, samples)
        yield from self._live()

    def _live(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(PREFIX + "queue_depth", "Jobs waiting, per priority.", labels=["priority"])
        for priority in Priority:
            depth.add_metric([priority.value], self.queue.queue_for(priority).count)
        yield depth
        workers = self.queue.workers()
        yield GaugeMetricFamily(PREFIX + "workers_alive", "Workers with a live heartbeat.", value=len(workers))
        memory = GaugeMetricFamily(PREFIX + "gpu_memory_used_bytes", "GPU memory in use (CUDA).", labels=["worker"])
        total = GaugeMetricFamily(PREFIX + "gpu_memory_total_bytes", "GPU memory (CUDA).", labels=["worker"])
        busy = GaugeMetricFamily(PREFIX + "gpu_utilization_ratio", "GPU utilisation 0..1 (NVML).", labels=["worker"])
        for worker in workers:
            gpu: dict[str, Any] = worker.gpu or {}
            for family, field in ((memory, "memory_used_bytes"), (total, "memory_total_bytes"), (busy, "utilization")):
                if gpu.get(field) is not None:
                    family.add_metric([worker.name], float(gpu[field]))
        yield from (memory, total, busy)
        yield from _per_worker(workers)


def _per_worker(workers: list[WorkerView]) -> Iterator[Metric]:
    """One series per live worker: what it is (info), what it did, what it holds, whether it is busy or draining."""
    info = GaugeMetricFamily(
        PREFIX + "worker_info", "A live worker (value 1).", labels=["worker", "version", "device", "gpu"]
    )
    done = GaugeMetricFamily(PREFIX + "worker_jobs_done", "Jobs the worker ended since it started.", labels=["worker"])
    busy = GaugeMetricFamily(PREFIX + "worker_busy", "1 while the worker runs a job.", labels=["worker"])
    draining = GaugeMetricFamily(PREFIX + "worker_draining", "1 while the worker drains.", labels=["worker"])
    loaded = GaugeMetricFamily(
        PREFIX + "worker_model_loaded", "1 per model resident on the worker.", labels=["worker", "model"]
    )
    for worker in workers:
        gpu_name = str((worker.gpu or {}).get("name", ""))
        info.add_metric([worker.name, worker.version or "", worker.device or "", gpu_name], 1)
        done.add_metric([worker.name], worker.jobs_done)
        busy.add_metric([worker.name], 1 if worker.current_job else 0)
        draining.add_metric([worker.name], 1 if worker.draining else 0)
        for model in worker.models_loaded:
            loaded.add_metric([worker.name, model], 1)
    yield from (info, done, busy, draining, loaded)


def render(queue: QueueState) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(queue))
    return generate_latest(registry)


def summary(queue: QueueState) -> dict[str, Any]:
    """The same numbers for people (``GET /api/v1/system``): counters as ``{labels, value}`` lists, histograms as
    ``{labels, count, mean_seconds}``, and the denoising rate per model (it/s over all jobs)."""
    grouped: dict[str, list[Sample]] = defaultdict(list)
    for sample in read_samples(queue.redis, queue.settings.queue_name):
        grouped[sample.name].append(sample)
    result: dict[str, Any] = {}
    for name, (kind, _) in METRICS.items():
        samples = grouped.get(name, [])
        if kind == "counter":
            result[name] = [{"labels": s.labels, "value": s.value} for s in samples]
            continue
        totals: dict[str, dict[str, Any]] = {}
        for sample in samples:
            if sample.suffix in ("+Inf", "_sum"):
                entry = totals.setdefault(json.dumps(sample.labels, sort_keys=True), {"labels": sample.labels})
                entry["count" if sample.suffix == "+Inf" else "sum"] = sample.value
        result[name] = [
            {"labels": e["labels"], "count": e.get("count", 0), "mean_seconds": e.get("sum", 0) / (e.get("count") or 1)}
            for e in totals.values()
        ]
    seconds = {s.labels.get("model"): s.value for s in grouped.get("denoise_seconds", [])}
    result["step_rate"] = {
        s.labels.get("model"): round(s.value / seconds[s.labels.get("model")], 3)
        for s in grouped.get("denoise_steps", [])
        if seconds.get(s.labels.get("model"))
    }
    return result
