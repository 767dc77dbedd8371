"""What a running job needs from its worker process: settings, Redis, the resident model manager.

RQ calls job functions by dotted path with only their arguments, so the worker installs one
:class:`WorkerContext` per process before it starts taking jobs, and ``run_job`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from models.manager import ModelManager
from models.preview import PreviewDecoder
from schemas.settings import Settings
from store.metrics import Metrics
from worker.safety import SafetyChecks


@dataclass
class WorkerContext:
    settings: Settings
    redis: Redis
    manager: ModelManager
    previews: PreviewDecoder
    safety: SafetyChecks
    worker_name: str = ""
    current_job: str | None = None
    abort_requested: bool = False  # a second stop signal: stop at the next step, re-queue the job
    features: dict[str, Any] = field(default_factory=dict)  # optional parts and whether they work here

    @property
    def metrics(self) -> Metrics:
        return Metrics(self.redis, self.settings.queue_name)

    @property
    def preview_every(self) -> int:
        if self.settings.preview_every is not None:
            return self.settings.preview_every
        return 5 if self.manager.policy.device == "cuda" else 0


_context: WorkerContext | None = None


def install(context: WorkerContext) -> None:
    global _context
    _context = context


def current() -> WorkerContext:
    if _context is None:
        raise RuntimeError("worker.tasks.run_job runs only inside `sdqueue worker` (no worker context installed)")
    return _context
