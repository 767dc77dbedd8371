"""Measured seconds per denoising step, per model and size: written by the worker after each job, read by the
API's estimates (``POST /api/v1/estimate``, queue ETAs).

Redis hash ``sdq:stats:<model>`` (``schemas.keys.step_stats_key``), field ``<width>x<height>`` -> JSON
``{s_per_step, overhead_s, n}``; no TTL. Each new measurement is smoothed into the old one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas.keys import step_stats_key

SMOOTHING = 0.3  # weight of the newest job in the running figures


class StepStats(BaseModel):
    s_per_step: float
    overhead_s: float  # per image: loading and saving
    n: int = 1  # jobs measured

    def smoothed_with(self, previous: StepStats | None) -> StepStats:
        if previous is None:
            return self
        return StepStats(
            s_per_step=SMOOTHING * self.s_per_step + (1 - SMOOTHING) * previous.s_per_step,
            overhead_s=SMOOTHING * self.overhead_s + (1 - SMOOTHING) * previous.overhead_s,
            n=previous.n + 1,
        )


def record_step_stats(redis: Any, model: str, size: str, measured: StepStats) -> StepStats:
    """Smooth ``measured`` into what is stored for ``model`` at ``size`` (``<w>x<h>``); returns the new figures."""
    raw = redis.hget(step_stats_key(model), size)
    updated = measured.smoothed_with(StepStats.model_validate_json(raw) if raw else None)
    redis.hset(step_stats_key(model), size, updated.model_dump_json())
    return updated


def read_step_stats(redis: Any, model: str) -> dict[str, StepStats]:
    """Every size measured for ``model``: ``{"512x512": StepStats, ...}``."""
    raw: dict[bytes, bytes] = redis.hgetall(step_stats_key(model))
    return {k.decode(): StepStats.model_validate_json(v) for k, v in raw.items()}
