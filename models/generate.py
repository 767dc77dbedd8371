"""Run a request (txt2img, img2img, inpaint, controlnet) on a resident pipeline: the mode's pipeline derived with
from_pipe and a scheduler of its own (and the job's ControlNets), per-image seeds, a step callback, and the job's
LoRAs, embeddings and VAE."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from models.differential import DifferentialGuide, keep_black_areas
from models.families import call_arguments, fit_output_size
from models.inpaint_area import crop_for_repaint, paste_back, repaint_box
from models.samplers import make_scheduler
from models.upscale import RESAMPLING
from schemas.errors import GenerationFailed
from schemas.generation import (
    AnyRequest,
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    Txt2ImgRequest,
    control_image_field,
)

StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps done, steps in all). An exception it raises aborts the run."""
PreviewCallback = Callable[[int, Any], None]
"""Called every ``preview_every`` steps with (steps done, the current latents)."""


def _mode_pipeline(
    base: Any, request: AnyRequest, vae: Any | None, mode: str | None = None, controlnets: list[Any] | None = None
) -> Any:
    """The pipeline of ``mode`` (default: the request's) sharing ``base``'s weights, with a fresh scheduler
    (from_pipe: no reload). With ``controlnets``, the ControlNet variant of that mode (several: a
    MultiControlNetModel); a controlnet request is txt2img, or img2img when it has an init image."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

    scheduler = make_scheduler(request.sampler, request.scheduler, base.scheduler.config)
    overrides: dict[str, Any] = {"scheduler": scheduler}
    if vae is not None:
        overrides["vae"] = vae
    if controlnets:
        overrides["controlnet"] = controlnets[0] if len(controlnets) == 1 else controlnets
    mode = mode or request.mode
    if isinstance(request, ControlNetRequest) and mode == "controlnet":
        mode = "img2img" if request.init_image is not None else "txt2img"
    kind = {"img2img": AutoPipelineForImage2Image, "inpaint": AutoPipelineForInpainting}.get(
        mode, AutoPipelineForText2Image
    )
    pipeline = kind.from_pipe(base, **overrides)
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


def run_generation(
    base: Any,
    request: AnyRequest,
    seeds: list[int],
    on_step: StepCallback,
    on_preview: PreviewCallback | None = None,
    preview_every: int = 0,
    loras: list[LoraFile] | None = None,
    vae: Any | None = None,
    embeddings: list[tuple[str, Path]] | None = None,
    inputs: dict[str, Any] | None = None,
    hires_upscale: Callable[[Any, tuple[int, int]], Any] | None = None,
    controlnets: list[Any] | None = None,
) -> list[Any]:
    """Generate ``len(seeds)`` PIL images; image i uses a CPU generator seeded with ``seeds[i]``.

    CPU generators make a seed give the same initial noise on every device (as A1111's CPU RNG option).
    ``inputs`` holds the prepared images of img2img (``init_image``), inpaint (``image``, ``mask``; at the
    image's own size for ``inpaint_full_res``, whose results keep that size) and controlnet
    (``control_image_<n>``, optional ``init_image``); ``controlnets`` the loaded models of a controlnet request's
    units, in order.
    ``hires_upscale(image, size)`` replaces the hires fix's Pillow resampler (a model upscaler).
    """
    import torch

    inputs = inputs or {}
    if isinstance(request, Img2ImgRequest | ControlNetRequest) and request.denoising_strength == 0:
        return [inputs["init_image"].copy() for _ in seeds]  # nothing to denoise: the input as it is
    box = None
    if isinstance(request, InpaintRequest) and request.inpaint_full_res:
        # Only masked: repaint the box around the mask at width x height; the full-size inputs stay for the paste
        width, height = request.width, request.height
        assert width is not None and height is not None, "the API fills in the size"
        box = repaint_box(inputs["mask"], request.inpaint_full_res_padding, width, height)
        if box is None:
            raise GenerationFailed("the mask selects nothing: inpaint_full_res has no area to repaint")
        crop, crop_mask = crop_for_repaint(inputs["image"], inputs["mask"], box, width, height)
        full_inputs, inputs = inputs, {**inputs, "image": crop, "mask": crop_mask}
    pipeline = _mode_pipeline(base, request, vae, controlnets=controlnets)
    guide = None
    if isinstance(request, Img2ImgRequest) and "change_map" in inputs:
        guide = DifferentialGuide(pipeline, inputs["init_image"], inputs["change_map"], seeds)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    prompt, _ = request.all_loras()

    def step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        done = step + 1
        if guide is not None:
            tensors["latents"] = guide.apply(pipe, step, tensors["latents"])
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
            negative_prompt=request.negative_prompt or None,
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            num_images_per_prompt=len(seeds),
            generator=generators,
            callback_on_step_end=step_end,
            **call_arguments(pipeline, request, _mode_arguments(request, inputs)),  # + clip_skip (families.py)
        )
    images = fit_output_size(pipeline, list(output.images), request)
    if isinstance(request, Txt2ImgRequest) and request.hires_size is not None:
        resize = hires_upscale or (lambda image, size: image.resize(size, RESAMPLING[request.hr_upscaler]))
        images = _hires_pass(base, request, images, seeds, on_step, vae, loras or [], embeddings or [], resize)
    if guide is not None:
        return [keep_black_areas(image, inputs["init_image"], inputs["change_map"]) for image in images]
    if box is not None:
        # Scale each repainted crop back into the full-size original, through the full-size mask.
        return [paste_back(image, full_inputs["image"], full_inputs["mask"], box) for image in images]
    if isinstance(request, InpaintRequest):
        # Paste the original back wherever the (blurred) mask is black: those pixels are returned unchanged.
        return [Image.composite(image, inputs["image"], inputs["mask"]) for image in images]
    return images


def _hires_pass(
    base: Any,
    request: Txt2ImgRequest,
    images: list[Any],
    seeds: list[int],
    on_step: StepCallback,
    vae: Any | None,
    loras: list[LoraFile],
    embeddings: list[tuple[str, Path]],
    resize: Callable[[Any, tuple[int, int]], Any],
) -> list[Any]:
    """Hires fix: upscale the first pass, then refine it with img2img at ``hr_denoise`` (A1111's two passes)."""
    import torch

    assert request.hires_size is not None
    upscaled = [resize(image, request.hires_size) for image in images]
    if request.hr_denoise == 0:
        return upscaled
    pipeline = _mode_pipeline(base, request, vae, mode="img2img")
    prompt, _ = request.all_loras()

    def step_end(pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_step(step + 1, pipe.num_timesteps)
        return tensors

    refined = []
    with loras_applied(pipeline, loras), embeddings_applied(pipeline, embeddings), torch.inference_mode():
        for image, seed in zip(upscaled, seeds, strict=True):  # one at a time: each image keeps its own seed
            output = pipeline(
                prompt=prompt,
                negative_prompt=request.negative_prompt or None,
                image=image,
                strength=request.hr_denoise,
                num_inference_steps=request.hr_steps or request.steps,
                guidance_scale=request.cfg_scale,
                clip_skip=request.clip_skip - 1 if request.clip_skip > 1 else None,
                generator=torch.Generator("cpu").manual_seed(seed),
                callback_on_step_end=step_end,
            )
            refined.append(output.images[0])
    return refined


def _mode_arguments(request: AnyRequest, inputs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(request, ControlNetRequest):
        return _controlnet_arguments(request, inputs)
    if isinstance(request, Img2ImgRequest):
        return {"image": inputs["init_image"], "strength": request.strength}  # its size is the output size
    size = {"width": request.width, "height": request.height}
    if isinstance(request, InpaintRequest):
        return {**size, "image": inputs["image"], "mask_image": inputs["mask"], "strength": request.strength}
    return size


def _controlnet_arguments(request: ControlNetRequest, inputs: dict[str, Any]) -> dict[str, Any]:
    """Control images and per-unit settings: one value for one ControlNet, a list (in unit order) for several."""
    units = request.controlnets

    def per_unit(values: list[Any]) -> Any:
        return values if len(units) > 1 else values[0]

    controls = per_unit([inputs[control_image_field(index)] for index in range(len(units))])
    arguments = {
        "controlnet_conditioning_scale": per_unit([unit.conditioning_scale for unit in units]),
        "control_guidance_start": per_unit([unit.guidance_start for unit in units]),
        "control_guidance_end": per_unit([unit.guidance_end for unit in units]),
    }
    if request.init_image is not None:  # img2img: the init image's size (fitted at submit) is the output size
        return {**arguments, "image": inputs["init_image"], "control_image": controls, "strength": request.strength}
    return {**arguments, "image": controls, "width": request.width, "height": request.height}
