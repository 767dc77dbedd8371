"""The fields every generation mode shares (a frozen base, strict, unknown fields refused), and the field types
the modes reuse.

Numbers and strings are strict (``"512"`` or ``true`` is not a width); unknown fields are refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from schemas.keys import Priority
from schemas.requests.prompts import (
    MAX_LORAS,
    MODEL_NAME_PATTERN,
    LoraRef,
    check_lora_tags,
    lora_tags,
    split_lora_tags,
)
from schemas.requests.samplers import Sampler, ScheduleType, sampler_by_label
from schemas.watermark import WatermarkOptions

SEED_MAX = 2**32 - 1


Dimension = Annotated[
    int,
    Field(strict=True, ge=64, le=2048, multiple_of=8, description="Pixels; 64..2048, a multiple of 8."),
]


class GenerationBase(BaseModel):
    """Fields every generation mode shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(strict=True, min_length=1, max_length=2000, description="What to draw.")
    negative_prompt: str = Field("", strict=True, max_length=2000, description="What to avoid.")
    model: str | None = Field(
        None,
        strict=True,
        pattern=MODEL_NAME_PATTERN,
        description="Checkpoint name (see models/checkpoints/); null = the server's default model.",
    )
    width: Dimension = 512
    height: Dimension = 512
    steps: int = Field(20, strict=True, ge=1, le=150, description="Denoising steps, 1..150.")
    cfg_scale: float = Field(7.0, ge=0, le=30, description="Classifier-free guidance scale, 0..30.")
    sampler: Sampler = Field(Sampler.EULER_A, description="Sampler; API name or AUTOMATIC1111 label ('DPM++ 2M').")
    scheduler: ScheduleType = Field(
        ScheduleType.AUTOMATIC,
        description="Noise schedule (A1111 'Schedule type'): karras/exponential where the sampler takes them.",
    )
    clip_skip: int = Field(
        1, strict=True, ge=1, le=12, description="Text-encoder layers to skip from the end (1 = none)."
    )
    vae: str | None = Field(
        None, strict=True, pattern=MODEL_NAME_PATTERN, description="A VAE from models/vae/ instead of the model's own."
    )
    loras: list[LoraRef] = Field(
        [],
        max_length=MAX_LORAS,
        validate_default=True,
        description="LoRA adapters from models/lora/; <lora:name:weight> tags in the prompt work too and count "
        "towards the limit of 8 (weights -4..4 either way).",
    )
    seed: int = Field(
        -1,
        strict=True,
        ge=-1,
        le=SEED_MAX,
        description="-1 = random; else 0..2^32-1. Image i of a batch uses (seed + i) mod 2^32.",
    )
    batch_size: int = Field(1, strict=True, ge=1, le=8, description="Images per job, 1..8.")
    priority: Priority = Field(
        Priority.NORMAL, description="Queue priority: high jobs run before normal, normal before low."
    )
    strict_safety: bool | None = Field(
        None,
        description="Strict safety: a flagged prompt or image fails the request instead of being adjusted. "
        "Null = the server's default; only admins may turn it off where the default is strict.",
    )
    force_regenerate: bool = Field(
        False, description="Generate even when an identical request's result is cached (the new one replaces it)."
    )
    watermark: WatermarkOptions | None = Field(
        None,
        description="Visible text watermark; fields left out take the server's defaults (none unless "
        "SDQ_WATERMARK_TEXT is set). The invisible watermark is a server setting.",
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must contain more than whitespace")
        check_lora_tags(value)
        return value

    @field_validator("loras")
    @classmethod
    def _loras_with_tags_fit(cls, value: list[LoraRef], info: ValidationInfo) -> list[LoraRef]:
        tagged = len(lora_tags(info.data.get("prompt") or ""))
        if tagged and len(value) + tagged > MAX_LORAS:
            raise ValueError(
                f"{len(value)} in loras and {tagged} <lora:...> tags in the prompt make {len(value) + tagged} "
                f"LoRAs; at most {MAX_LORAS}"
            )
        return value

    @field_validator("sampler", mode="before")
    @classmethod
    def _sampler_label(cls, value: object) -> object:
        return sampler_by_label(value)

    @field_validator("scheduler")
    @classmethod
    def _schedule_fits_sampler(cls, value: ScheduleType, info: ValidationInfo) -> ScheduleType:
        sampler = info.data.get("sampler")
        if value in (ScheduleType.KARRAS, ScheduleType.EXPONENTIAL) and sampler and not sampler.takes_sigma_schedules:
            raise ValueError(f"{value.value} does not apply to sampler {sampler.value}; use automatic or normal")
        return value

    @property
    def denoising_strength(self) -> float | None:
        """The strength an input image is re-noised with (A1111 'Denoising strength'); None without one."""
        return None

    def all_loras(self) -> tuple[str, list[LoraRef]]:
        """The prompt without <lora:...> tags, and the field's adapters followed by the tags' ones."""
        prompt, tagged = split_lora_tags(self.prompt)
        return prompt, [*self.loras, *tagged]

    @field_validator("cfg_scale", mode="before")
    @classmethod
    def _cfg_is_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("cfg_scale must be a number")
        return value


ImageField = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=40_000_000,
        description="An uploaded image id (upl_...), a data URL, base64, or an http(s) URL the API fetches (public "
        "addresses only). PNG, JPEG, WebP, GIF (first frame), ...",
    ),
]
OptionalDimension = Annotated[
    int | None,
    Field(strict=True, ge=64, le=2048, multiple_of=8, description="Pixels; null = the input's size, rounded to 8."),
]


class ResizeMode(StrEnum):
    JUST_RESIZE = "just_resize"
    CROP_AND_RESIZE = "crop_and_resize"
    RESIZE_AND_FILL = "resize_and_fill"


def batch_seeds(seed: int, batch_size: int) -> list[int]:
    """Seeds of a batch, AUTOMATIC1111 style: seed, seed+1, ... wrapping at 2^32."""
    return [(seed + index) % (SEED_MAX + 1) for index in range(batch_size)]
