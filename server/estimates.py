"""``POST /api/v1/estimate`` from the worker's measured step times; ``GET /api/v1/parameters`` from the schema."""

from __future__ import annotations

import math
from typing import Any, get_args

from redis import Redis

from models.families import FAMILIES, family_of
from models.registry import ModelRegistry
from schemas.jobs import Estimate
from schemas.keys import PRIORITY_ORDER, Priority
from schemas.models import ModelType
from schemas.requests import (
    AnyRequest,
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    Preprocessor,
    Sampler,
    Txt2ImgRequest,
    UpscaleRequest,
)
from schemas.settings import Settings
from server.queue import QueueState
from store.stepstats import read_step_stats


def estimate(redis: Redis, request: AnyRequest, model: str) -> Estimate:
    """Seconds = steps x images x seconds-per-step (+ per-image overhead), from this model's measurements.

    The exact size when measured; else the measured size nearest in pixels, scaled by the pixel ratio.
    """
    measured = read_step_stats(redis, model)
    if not measured:
        return Estimate(seconds=None, basis="none", detail=f"no finished jobs of model {model!r} measured yet")
    width, height = request.width or 512, request.height or 512  # img2img/inpaint without a size: a guess
    pixels = width * height
    size = f"{width}x{height}"
    if size in measured:
        stats, scale, basis = measured[size], 1.0, "measured"
        detail = f"from {stats.n} job(s) of {model} at {size}"
    else:

        def area(key: str) -> int:
            width, height = key.split("x")
            return int(width) * int(height)

        nearest = min(measured, key=lambda key: abs(area(key) - pixels))
        stats, scale, basis = measured[nearest], pixels / area(nearest), "scaled"
        detail = f"scaled from {stats.n} job(s) of {model} at {nearest}"
    images = request.batch_size * (len(request.prompt_list()) if isinstance(request, Txt2ImgRequest) else 1)
    strength = request.denoising_strength
    steps = request.steps * (1.0 if strength is None else strength)  # img2img runs strength x steps
    seconds = steps * images * stats.s_per_step * scale + images * stats.overhead_s
    return Estimate(seconds=round(seconds, 3), basis=basis, detail=detail)


def _model_families(registry: ModelRegistry) -> dict[str, str]:
    """Checkpoint name -> its family in ``families`` (SD3 and Flux checkpoints only)."""
    found = {c.name: family_of(c.arch, c.variant) for c in registry.checkpoints()}
    return {name: family.name for name, family in found.items() if family is not None}


def with_wait(run: Estimate, queue: QueueState, priority: Priority) -> Estimate:
    """``run`` plus the wait before a job of ``priority`` would start: the jobs queued at that priority or higher,
    taken in parallel by the live workers (``ceil(ahead / workers)`` rounds of this job's run time)."""
    ahead = 0
    for level in PRIORITY_ORDER:
        ahead += queue.queue_for(level).count
        if level is priority:
            break
    workers = len(queue.workers())
    wait = None
    if run.seconds is not None and workers:
        wait = round(math.ceil(ahead / workers) * run.seconds, 3)
    return run.model_copy(update={"queued_ahead": ahead, "workers_alive": workers, "wait_seconds": wait})


def parameters(settings: Settings, registry: ModelRegistry) -> dict[str, Any]:
    """Every request field with type, limits, default and description (JSON Schema), plus the choices."""
    return {
        "modes": {
            "txt2img": Txt2ImgRequest.model_json_schema(),
            "img2img": Img2ImgRequest.model_json_schema(),
            "inpaint": InpaintRequest.model_json_schema(),
            "upscale": UpscaleRequest.model_json_schema(),
            "controlnet": ControlNetRequest.model_json_schema(),
        },
        "samplers": [{"name": s.value, "label": s.label} for s in Sampler],
        "families": {name: family.describe() for name, family in FAMILIES.items()},
        "model_families": _model_families(registry),
        "priorities": [p.value for p in Priority],
        "models": [c.name for c in registry.checkpoints()],
        "controlnets": sorted(
            e.name for e in registry.entries() if e.type is ModelType.CONTROLNET and e.status == "valid"
        ),
        "preprocessors": list(get_args(Preprocessor)),
        "default_model": settings.default_model,
    }
