"""Service metrics kept in Redis, so that every process (API, workers on other machines) adds to the same numbers
and any API process can serve them (``/metrics`` renders them with prometheus-client at scrape time).

Counters live in one hash per queue (``sdq:metrics:<queue>``), field ``<name>\\t<labels as JSON>``; a histogram
adds a field per bucket (``...\\t<le>``), plus ``_sum`` and ``_count`` fields. Writes are single HINCRBY(FLOAT)
calls, pipelined: recording never fails the caller (it logs and moves on).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from schemas.keys import metrics_key

log = logging.getLogger(__name__)

METRICS: dict[str, tuple[str, str]] = {
    "jobs_submitted": ("counter", "Jobs accepted by the API, per mode."),
    "jobs": ("counter", "Jobs that ended, per mode and status (finished, failed, canceled)."),
    "generation_seconds": ("histogram", "Worker seconds per image (generation, post-processing), per mode and model."),
    "denoise_steps": ("counter", "Denoising steps run (x images), per model; divide by denoise_seconds for it/s."),
    "denoise_seconds": ("counter", "Seconds spent denoising, per model."),
    "cache_requests": ("counter", "Result-cache lookups of cacheable requests, per result (hit, miss, attached)."),
    "safety_blocks": (
        "counter",
        "Requests or images blocked or adjusted by the safety checks, per stage and category.",
    ),
    "model_loads": ("counter", "Models loaded by workers, per model."),
    "model_load_seconds": ("histogram", "Seconds a model load took, per model."),
}
"""Every Redis-kept metric: name (``sdq_`` prefix and ``_total`` are added on export) -> (type, help)."""

SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def _field(name: str, labels: dict[str, str], suffix: str = "") -> str:
    return f"{name}\t{json.dumps(labels, sort_keys=True)}" + (f"\t{suffix}" if suffix else "")


class Metrics:
    """Writer for one queue's metrics."""

    def __init__(self, redis: Redis, base_queue: str) -> None:
        self.redis = redis
        self.key = metrics_key(base_queue)

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        try:
            self.redis.hincrbyfloat(self.key, _field(name, labels), amount)
        except RedisError:
            log.warning("could not record metric %s", name, exc_info=True)

    def observe(self, name: str, value: float, buckets: tuple[float, ...] = SECONDS_BUCKETS, **labels: str) -> None:
        """One histogram observation (cumulative buckets, as Prometheus wants them)."""
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for bound in buckets:
                    if value <= bound:
                        pipe.hincrbyfloat(self.key, _field(name, labels, repr(bound)), 1)
                pipe.hincrbyfloat(self.key, _field(name, labels, "+Inf"), 1)
                pipe.hincrbyfloat(self.key, _field(name, labels, "_sum"), value)
                pipe.execute()
        except RedisError:
            log.warning("could not record metric %s", name, exc_info=True)


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    suffix: str  # "" for counters; a bucket bound, "+Inf" or "_sum" for histograms
    value: float


def read_samples(redis: Redis, base_queue: str) -> Iterator[Sample]:
    raw: dict[bytes, bytes] = redis.hgetall(metrics_key(base_queue))  # type: ignore[assignment]
    for field, value in raw.items():
        name, labels, *suffix = field.decode().split("\t")
        yield Sample(name, json.loads(labels), suffix[0] if suffix else "", float(value))
