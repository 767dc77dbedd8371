"""Run a request (txt2img, img2img, inpaint, controlnet) on a resident pipeline: the mode's pipeline derived with
from_pipe and a scheduler of its own (and the job's ControlNets), per-image seeds, a step callback, and the job's
LoRAs, embeddings and VAE."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.differential import DifferentialGuide, keep_black_areas
from models.families import call_arguments, fit_output_size
from models.modes import HiresPlan, handler_for
from models.samplers import make_scheduler
from models.upscale import RESAMPLING
from schemas.requests import AnyRequest

StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps done, steps in all). An exception it raises aborts the run."""
PreviewCallback = Callable[[int, Any], None]
"""Called every ``preview_every`` steps with (steps done, the current latents)."""


def _mode_pipeline(base: Any, request: AnyRequest, kind: str, options: RunOptions) -> Any:
    """The pipeline of ``kind`` (txt2img, img2img, inpaint) sharing ``base``'s weights, with a fresh scheduler
    (from_pipe: no reload) and the job's VAE; with ControlNets, the ControlNet variant of that kind (several: a
    MultiControlNetModel)."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

    scheduler = make_scheduler(request.sampler, request.scheduler, base.scheduler.config)
    overrides: dict[str, Any] = {"scheduler": scheduler}
    if options.vae is not None:
        overrides["vae"] = options.vae
    controlnets = options.controlnets
    if controlnets:
        overrides["controlnet"] = controlnets[0] if len(controlnets) == 1 else controlnets
    auto = {"img2img": AutoPipelineForImage2Image, "inpaint": AutoPipelineForInpainting}.get(
        kind, AutoPipelineForText2Image
    )
    pipeline = auto.from_pipe(base, **overrides)
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


@dataclass(frozen=True)
class RunOptions:
    """What the worker loaded for a job beside its base pipeline, and how it wants previews.

    ``controlnets``: the loaded models of a controlnet request's units, in order; ``hires_upscale(image, size)``
    replaces the hires fix's Pillow resampler (a model upscaler); ``on_preview`` is called every ``preview_every``
    steps with the current latents.
    """

    loras: list[LoraFile] = field(default_factory=list)
    vae: Any | None = None
    embeddings: list[tuple[str, Path]] = field(default_factory=list)
    controlnets: list[Any] | None = None
    hires_upscale: Callable[[Any, tuple[int, int]], Any] | None = None
    on_preview: PreviewCallback | None = None
    preview_every: int = 0


def run_generation(
    base: Any,
    request: AnyRequest,
    seeds: list[int],
    on_step: StepCallback,
    inputs: dict[str, Any] | None = None,
    options: RunOptions | None = None,
) -> list[Any]:
    """Generate ``len(seeds)`` PIL images; image i uses a CPU generator seeded with ``seeds[i]``.

    CPU generators make a seed give the same initial noise on every device (as A1111's CPU RNG option).
    ``inputs`` holds the prepared images the API wrote for the job (see the mode's handler in
    :mod:`models.modes`); everything that differs by mode (pipeline kind and arguments, cropping and pasting back,
    the hires pass) comes from that handler.
    """
    import torch

    handler = handler_for(request)
    options = options or RunOptions()
    inputs = inputs or {}
    unchanged = handler.unchanged_input(request)
    if unchanged is not None:
        return [inputs[unchanged].copy() for _ in seeds]  # nothing to denoise: the input as it is
    staged = handler.stage(request, inputs)
    pipeline = _mode_pipeline(base, request, handler.pipeline_kind(request), options)
    guide = None
    if "change_map" in staged.inputs:  # differential img2img
        guide = DifferentialGuide(pipeline, inputs["init_image"], inputs["change_map"], seeds)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    prompt, _ = request.all_loras()
    arguments = call_arguments(pipeline, request, handler.pipeline_arguments(request, staged.inputs))  # + clip_skip
    with (
        loras_applied(pipeline, options.loras),
        embeddings_applied(pipeline, options.embeddings),
        torch.inference_mode(),
    ):
        output = pipeline(
            prompt=prompt,
            negative_prompt=request.negative_prompt or None,
            num_inference_steps=at_least_one_step(request.steps, arguments.get("strength")),
            guidance_scale=request.cfg_scale,
            num_images_per_prompt=len(seeds),
            generator=generators,
            callback_on_step_end=_step_end(on_step, options, guide),
            **arguments,
        )
    images = fit_output_size(pipeline, list(output.images), request)
    plan = handler.hires(request)
    if plan is not None:
        images = _hires_pass(base, request, plan, list(zip(images, seeds, strict=True)), on_step, options)
    if guide is not None:
        return [keep_black_areas(image, inputs["init_image"], inputs["change_map"]) for image in images]
    return staged.finish(images)


def _step_end(on_step: StepCallback, options: RunOptions, guide: DifferentialGuide | None) -> Any:
    """The pipeline's step callback: the differential guide, previews every ``preview_every`` steps, progress."""
    every = options.preview_every if options.on_preview is not None else 0

    def step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        done = step + 1
        if guide is not None:
            tensors["latents"] = guide.apply(pipe, step, tensors["latents"])
        if options.on_preview is not None and every > 0 and done % every == 0:
            options.on_preview(done, tensors["latents"])
        on_step(done, pipe.num_timesteps)
        return tensors

    return step_end


def at_least_one_step(steps: int, strength: float | None) -> int:
    """The scheduler steps to ask an img2img-like pipeline for: it denoises ``int(steps * strength)`` of them, and
    with none (2 steps at strength 0.3, or a hires pass of 1 step at 0.5) diffusers fails on an empty tensor. So
    at least enough that one step runs; ``steps`` itself whenever that already holds."""
    if not strength:
        return steps
    while int(steps * strength) < 1:  # diffusers' own rounding, so float error cannot leave it at 0
        steps += 1
    return steps


def _hires_pass(
    base: Any,
    request: AnyRequest,
    plan: HiresPlan,
    first_pass: list[tuple[Any, int]],
    on_step: StepCallback,
    options: RunOptions,
) -> list[Any]:
    """Hires fix: upscale the first pass (images with their seeds), then refine each with img2img at the plan's
    strength (A1111's two passes)."""
    import torch

    resize = options.hires_upscale or (lambda image, size: image.resize(size, RESAMPLING[plan.upscaler]))
    upscaled = [(resize(image, plan.size), seed) for image, seed in first_pass]
    if plan.strength == 0:
        return [image for image, _ in upscaled]
    pipeline = _mode_pipeline(base, request, "img2img", RunOptions(vae=options.vae))
    prompt, _ = request.all_loras()

    def step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_step(step + 1, pipe.num_timesteps)
        return tensors

    refined = []
    with (
        loras_applied(pipeline, options.loras),
        embeddings_applied(pipeline, options.embeddings),
        torch.inference_mode(),
    ):
        for image, seed in upscaled:  # one at a time: each image keeps its own seed
            output = pipeline(
                prompt=prompt,
                negative_prompt=request.negative_prompt or None,
                image=image,
                strength=plan.strength,
                num_inference_steps=at_least_one_step(plan.steps, plan.strength),
                guidance_scale=request.cfg_scale,
                clip_skip=request.clip_skip - 1 if request.clip_skip > 1 else None,
                generator=torch.Generator("cpu").manual_seed(seed),
                callback_on_step_end=step_end,
            )
            refined.append(output.images[0])
    return refined
