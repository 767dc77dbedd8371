"""Write a job's files: PNGs with A1111 infotext, WebP thumbnails, job.json; each atomically.

Every file is written to a temporary name in the same folder and renamed into place, so a reader
never sees a partial file. File names are generated here, never taken from a request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from models.modes import handler_for
from schemas.jobs import ImageRecord, JobPayload, JobResult, WorkerTimings, finished_record
from schemas.requests import AnyRequest
from schemas.safety import SafetyReport
from store.files import write_atomically

THUMBNAIL_DIR = "thumbs"
Started = tuple[float, float, float]
"""perf_counter() readings: at the start, after loading, after generating."""


def infotext(request: AnyRequest, seed: int, model: str, version: str) -> str:
    """The AUTOMATIC1111 ``parameters`` text: prompt, negative prompt, then the settings line (the mode's own
    entries come from its handler in :mod:`models.modes`)."""
    handler = handler_for(request)
    prompt, loras = request.all_loras()
    lines = [prompt]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    strength = request.denoising_strength
    settings = [
        f"Steps: {request.steps}",
        f"Sampler: {request.sampler.label}",
        *([f"Schedule type: {request.scheduler.value.capitalize()}"] if request.scheduler.value != "automatic" else []),
        f"CFG scale: {request.cfg_scale:g}",
        f"Seed: {seed}",
        f"Size: {request.width}x{request.height}",
        *([f"Denoising strength: {strength:g}"] if strength is not None else []),
        *handler.infotext_sampling(request),
        f"Model: {model}",
        *([f"VAE: {request.vae}"] if request.vae else []),
        *([f"Clip skip: {request.clip_skip}"] if request.clip_skip > 1 else []),
        *handler.infotext_extensions(request),
        *([f'Lora weights: "{", ".join(f"{lo.name}: {lo.weight:g}" for lo in loras)}"'] if loras else []),
        f"Version: sdqueue {version}",
    ]
    lines.append(", ".join(settings))
    return "\n".join(lines)


def write_images(
    folder: Path,
    images: list[Image.Image],
    seeds: list[int],
    parameters: list[str],
    thumbnail_size: int,
) -> list[ImageRecord]:
    """Write ``<n>.png`` (with its ``parameters`` chunk) and ``thumbs/<n>.webp`` for each image."""
    records = []
    for index, (image, seed, text) in enumerate(zip(images, seeds, parameters, strict=True)):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", text)
        png = f"{index}.png"
        write_atomically(folder / png, partial(image.save, format="PNG", pnginfo=info))
        thumb = image.copy()
        thumb.thumbnail((thumbnail_size, thumbnail_size), Image.Resampling.LANCZOS)
        webp = f"{THUMBNAIL_DIR}/{index}.webp"
        write_atomically(folder / webp, partial(thumb.save, format="WEBP", quality=85))
        records.append(
            ImageRecord(index=index, seed=seed, width=image.width, height=image.height, file=png, thumbnail=webp)
        )
    return records


@dataclass(frozen=True)
class Outputs:
    """A finished job's images and what their records say: ``seeds`` is empty for jobs without randomness
    (upscales); ``texts`` the PNGs' infotexts; ``marks`` per-image record fields (the watermarks applied)."""

    images: list[Image.Image]
    seeds: list[int]
    texts: list[str]
    images_per_prompt: int = 1
    marks: list[dict[str, Any]] | None = None
    safety: SafetyReport | None = None


def save_job(
    folder: Path, payload: JobPayload, outputs: Outputs, thumbnail_size: int, device: str, started: Started
) -> JobResult:
    """Write a finished job's images, thumbnails and job.json; ``started`` is the perf_counter() readings at the
    start, after loading and after generating. Returns the job's result."""
    begun, loaded, generated = started
    seeds = outputs.seeds
    records = write_images(folder, outputs.images, seeds or [0] * len(outputs.images), outputs.texts, thumbnail_size)
    marks = outputs.marks or [{} for _ in records]
    records = [
        r.model_copy(update={"prompt_index": r.index // outputs.images_per_prompt, **mark})
        for r, mark in zip(records, marks, strict=True)
    ]
    timings = WorkerTimings(
        load_seconds=round(loaded - begun, 4),
        generate_seconds=round(generated - loaded, 4),
        save_seconds=round(time.perf_counter() - generated, 4),
    )
    result = JobResult(
        images=records, seeds=seeds, model=payload.model, device=device, timings=timings, safety=outputs.safety
    )
    write_job_json(folder, finished_record(payload, result))
    return result


def write_job_json(folder: Path, record: dict[str, Any]) -> None:
    data = json.dumps(record, indent=2, default=str).encode()
    write_atomically(folder / "job.json", lambda handle: handle.write(data))
