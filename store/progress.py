"""A running job's progress: written by the worker at every stage and step, read by the API for job views.

Redis hash ``sdq:progress:<job_id>`` (``schemas.keys.progress_key``), expiring with the job's records. Empty
strings stand for "not known yet" (no it/s before the first step, no eta outside denoising).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from schemas.keys import progress_key


def _number(value: str | None) -> float | None:
    return float(value) if value else None


class ProgressRecord(BaseModel):
    stage: str
    step: int
    total: int
    its: float | None = None
    eta_seconds: float | None = None
    updated_at: float = Field(default_factory=time.time)

    def queue_write(self, pipe: Any, job_id: str, ttl_seconds: int) -> None:
        """Add the write to a pipeline (the reporter sends it with the step's event and cancel check)."""
        fields = {
            "stage": self.stage,
            "step": self.step,
            "total": self.total,
            "its": "" if self.its is None else self.its,
            "eta": "" if self.eta_seconds is None else self.eta_seconds,
            "updated_at": self.updated_at,
        }
        pipe.hset(progress_key(job_id), mapping=fields)
        pipe.expire(progress_key(job_id), ttl_seconds)

    @classmethod
    def read(cls, redis: Any, job_id: str) -> ProgressRecord | None:
        raw: dict[bytes, bytes] = redis.hgetall(progress_key(job_id))
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            stage=data.get("stage", ""),
            step=int(data.get("step") or 0),
            total=int(data.get("total") or 0),
            its=_number(data.get("its")),
            eta_seconds=_number(data.get("eta")),
            updated_at=float(data.get("updated_at") or 0),
        )
