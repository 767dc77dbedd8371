"""Run a txt2img request on a resident pipeline: scheduler per job, per-image seeds, step callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.samplers import make_scheduler
from schemas.generation import Txt2ImgRequest

StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps done, steps in all). An exception it raises aborts the run."""
PreviewCallback = Callable[[int, Any], None]
"""Called every ``preview_every`` steps with (steps done, the current latents)."""


def _text2image_pipeline(base: Any, request: Txt2ImgRequest, vae: Any | None) -> Any:
    """A txt2img pipeline sharing ``base``'s weights with a fresh scheduler (from_pipe: no reload)."""
    from diffusers import AutoPipelineForText2Image

    scheduler = make_scheduler(request.sampler, request.scheduler, base.scheduler.config)
    overrides: dict[str, Any] = {"scheduler": scheduler}
    if vae is not None:
        overrides["vae"] = vae
    pipeline = AutoPipelineForText2Image.from_pipe(base, **overrides)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@dataclass(frozen=True)
class LoraFile:
    name: str
    path: Path
    weight: float


@contextmanager
def embeddings_applied(pipeline: Any, embeddings: list[tuple[str, Path]]) -> Iterator[None]:
    """Textual-inversion embeddings (token = file name) for one job, always unloaded after it."""
    if not embeddings:
        yield
        return
    try:
        for token, path in embeddings:
            pipeline.load_textual_inversion(str(path), token=token)
        yield
    finally:
        pipeline.unload_textual_inversion()


@contextmanager
def loras_applied(pipeline: Any, loras: list[LoraFile]) -> Iterator[None]:
    """Load the adapters for one job and always unload them after, so nothing leaks into the next job.

    ``set_adapters`` is called explicitly: after a second adapter loads, the UNet's and the text encoder's active
    adapters would otherwise differ.
    """
    if not loras:
        yield
        return
    try:
        for lora in loras:
            pipeline.load_lora_weights(str(lora.path.parent), weight_name=lora.path.name, adapter_name=lora.name)
        pipeline.set_adapters([lora.name for lora in loras], adapter_weights=[lora.weight for lora in loras])
        yield
    finally:
        pipeline.unload_lora_weights()


def run_txt2img(
    base: Any,
    request: Txt2ImgRequest,
    seeds: list[int],
    on_step: StepCallback,
    on_preview: PreviewCallback | None = None,
    preview_every: int = 0,
    loras: list[LoraFile] | None = None,
    vae: Any | None = None,
    embeddings: list[tuple[str, Path]] | None = None,
) -> list[Any]:
    """Generate ``len(seeds)`` PIL images; image i uses a CPU generator seeded with ``seeds[i]``.

    CPU generators make a seed give the same initial noise on every device (as A1111's CPU RNG option).
    """
    import torch

    pipeline = _text2image_pipeline(base, request, vae)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    prompt, _ = request.all_loras()

    def step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        done = step + 1
        if on_preview is not None and preview_every > 0 and done % preview_every == 0:
            on_preview(done, tensors["latents"])
        on_step(done, pipe.num_timesteps)
        return tensors

    with (
        loras_applied(pipeline, loras or []),
        embeddings_applied(pipeline, embeddings or []),
        torch.inference_mode(),
    ):
        output = pipeline(
            prompt=prompt,
            clip_skip=request.clip_skip - 1 if request.clip_skip > 1 else None,
            negative_prompt=request.negative_prompt or None,
            width=request.width,
            height=request.height,
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            num_images_per_prompt=len(seeds),
            generator=generators,
            callback_on_step_end=step_end,
        )
    return list(output.images)
