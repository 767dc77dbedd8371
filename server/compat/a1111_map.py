"""AUTOMATIC1111 API ↔ sdqueue: samplers with schedules, override settings, request fields, ``info`` and infotexts."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from typing import Any

from PIL import Image

from schemas.compat.a1111 import A1111Base, A1111Img2Img, A1111Txt2Img
from schemas.jobs import JobView
from schemas.requests import SCHEDULER_LABELS, AnyRequest, ResizeMode, Sampler, ScheduleType

SAMPLERS = {**{s.label.lower(): s for s in Sampler}, **{s.value: s for s in Sampler}}
SCHEDULES = {label.lower(): schedule for schedule, label in SCHEDULER_LABELS.items()}
RESIZE_MODES = {0: ResizeMode.JUST_RESIZE, 1: ResizeMode.CROP_AND_RESIZE, 2: ResizeMode.RESIZE_AND_FILL}
NATIVE_UPSCALERS = ("lanczos", "bicubic", "nearest")
CHECKPOINT_TITLE = re.compile(r"^(?P<name>.+?)(?:\.(?:safetensors|ckpt|pt|bin))?(?: \[[0-9a-f]+\])?$")


def split_sampler(name: str | None, scheduler: str | None) -> tuple[str | None, ScheduleType]:
    """``'DPM++ 2M Karras'`` → (dpmpp_2m, karras). An unknown sampler is passed on for the schema to refuse; an
    unknown schedule, or one the sampler does not take, becomes automatic (A1111 falls back the same way)."""
    schedule = SCHEDULES.get((scheduler or "").lower(), ScheduleType.AUTOMATIC)
    sampler_name = (name or "").strip()
    for label, suffixed in SCHEDULES.items():
        if sampler_name.lower().endswith(" " + label):
            sampler_name, schedule = sampler_name[: -len(label) - 1], suffixed
            break
    if not sampler_name:
        return None, schedule
    sampler = SAMPLERS.get(sampler_name.lower())
    if sampler is None:
        return sampler_name, ScheduleType.AUTOMATIC
    if schedule in (ScheduleType.KARRAS, ScheduleType.EXPONENTIAL) and not sampler.takes_sigma_schedules:
        schedule = ScheduleType.AUTOMATIC
    return sampler.value, schedule


def checkpoint_name(title: str) -> str:
    """An A1111 checkpoint title (``'tiny.safetensors [0123456789]'``) as an sdqueue model name."""
    match = CHECKPOINT_TITLE.match(title.strip())
    return match.group("name") if match else title


def snap8(value: int) -> int:
    return value - value % 8


def _common(body: A1111Base) -> dict[str, Any]:
    fields: dict[str, Any] = {"prompt": body.prompt or ""}
    sampler, schedule = split_sampler(body.sampler_name or body.sampler_index, body.scheduler)
    fields["scheduler"] = schedule
    if sampler is not None:
        fields["sampler"] = sampler
    images = (body.batch_size or 1) * (body.n_iter or 1)
    fields["batch_size"] = images
    for key in ("negative_prompt", "seed", "steps", "cfg_scale"):
        value = getattr(body, key)
        if value is not None:
            fields[key] = value
    for key in ("width", "height"):
        value = getattr(body, key)
        if value:
            fields[key] = snap8(value)
    return fields | overridden(body.override_settings or {})


def overridden(overrides: dict[str, Any]) -> dict[str, Any]:
    """Native fields from ``override_settings``: the checkpoint, the clip skip, the VAE (others are ignored). A
    value of the wrong type is passed on for the schema to refuse by name."""
    fields: dict[str, Any] = {}
    if overrides.get("sd_model_checkpoint"):
        fields["model"] = checkpoint_name(str(overrides["sd_model_checkpoint"]))
    clip_skip = overrides.get("CLIP_stop_at_last_layers")
    if clip_skip is not None:
        fields["clip_skip"] = max(1, int(clip_skip)) if isinstance(clip_skip, int | float) else clip_skip
    vae = overrides.get("sd_vae")
    if isinstance(vae, str) and vae.strip() and vae.strip().lower() not in ("automatic", "none"):
        fields["vae"] = checkpoint_name(vae)
    return fields


def txt2img_fields(body: A1111Txt2Img) -> dict[str, Any]:
    fields = _common(body)
    if body.enable_hr and (body.hr_scale or 2) > 1:
        upscaler = (body.hr_upscaler or "").lower()
        fields["hr_scale"] = body.hr_scale or 2
        fields["hr_upscaler"] = upscaler if upscaler in NATIVE_UPSCALERS else "lanczos"
        if body.hr_second_pass_steps:
            fields["hr_steps"] = body.hr_second_pass_steps
        if body.denoising_strength is not None:
            fields["hr_denoise"] = body.denoising_strength
    return fields


def img2img_fields(body: A1111Img2Img) -> tuple[str, dict[str, Any]]:
    """The native mode (img2img, or inpaint with a mask) and its fields."""
    fields = _common(body)
    if body.denoising_strength is not None:
        fields["strength"] = body.denoising_strength
    if body.mask:
        fields |= {"image": body.init_images[0], "mask": body.mask, "invert_mask": bool(body.inpainting_mask_invert)}
        if body.mask_blur is not None:
            fields["mask_blur"] = body.mask_blur
        if body.inpaint_full_res:
            fields["inpaint_full_res"] = True
            if body.inpaint_full_res_padding is not None:
                fields["inpaint_full_res_padding"] = body.inpaint_full_res_padding
        return "inpaint", fields
    fields["init_image"] = body.init_images[0]
    fields["resize_mode"] = RESIZE_MODES.get(body.resize_mode or 0, ResizeMode.JUST_RESIZE)
    return "img2img", fields


def infotext_of(png: bytes) -> str:
    text = Image.open(io.BytesIO(png)).info.get("parameters", "")
    return text if isinstance(text, str) else ""


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%d%H%M%S") if moment else "0"


def info(view: JobView, request: AnyRequest, infotexts: list[str]) -> str:
    """A1111's ``info``: a JSON string describing the batch of ``view``, the job of ``request``."""
    first = view.images[0] if view.images else None
    return json.dumps(
        {
            "prompt": request.prompt,
            "all_prompts": [request.prompt] * len(view.images),
            "negative_prompt": request.negative_prompt,
            "all_negative_prompts": [request.negative_prompt] * len(view.images),
            "seed": view.seeds[0] if view.seeds else None,
            "all_seeds": view.seeds,
            "subseed": -1,
            "all_subseeds": [-1] * len(view.seeds),
            "subseed_strength": 0,
            "width": first.width if first else request.width,
            "height": first.height if first else request.height,
            "sampler_name": request.sampler.label,
            "scheduler": request.scheduler.value,
            "cfg_scale": request.cfg_scale,
            "steps": request.steps,
            "batch_size": request.batch_size,
            "sd_model_name": view.model,
            "denoising_strength": request.denoising_strength,
            "clip_skip": request.clip_skip,
            "index_of_first_image": 0,
            "infotexts": infotexts,
            "styles": [],
            "job_timestamp": stamp(view.timings.submitted_at),
            "version": "sdqueue",
            "job_id": view.id,
        }
    )


def parse_infotext(text: str) -> dict[str, Any]:
    """A1111's png-info ``parameters``: Prompt, Negative prompt, and each ``Key: value`` of the settings line."""
    lines = text.strip().split("\n")
    settings = lines.pop() if lines and re.match(r"^Steps: ", lines[-1]) else ""
    negative = [line for line in lines if line.startswith("Negative prompt: ")]
    prompt = "\n".join(line for line in lines if not line.startswith("Negative prompt: "))
    parsed: dict[str, Any] = {"Prompt": prompt, "Negative prompt": negative[0][17:] if negative else ""}
    for key, value in re.findall(r'\s*([\w ]+): ("(?:\\.|[^"])*"|[^,]*)(?:,|$)', settings):
        parsed[key.strip()] = value.strip().strip('"')
    if "Size" in parsed and "x" in str(parsed["Size"]):
        parsed["Size-1"], parsed["Size-2"] = str(parsed["Size"]).split("x", 1)
    return parsed
