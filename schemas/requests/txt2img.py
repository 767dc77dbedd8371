"""Text to image (``POST /api/v1/generate/txt2img``): a prompt batch and a hires fix are its own."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from schemas.requests.base import GenerationBase
from schemas.requests.prompts import MODEL_NAME_PATTERN

PromptText = Annotated[str, Field(strict=True, min_length=1, max_length=2000, pattern=r"\S")]
MAX_IMAGES_PER_JOB = 32


class Txt2ImgRequest(GenerationBase):
    """Text to image; with ``prompts``, one image set (``batch_size`` images) per prompt in one job."""

    mode: Literal["txt2img"] = Field("txt2img", description="Generation mode (fixed by the endpoint).")
    prompts: list[PromptText] = Field(
        [],
        max_length=16,
        description="Prompt batch: one image set per prompt, sharing every other parameter; "
        "when given, `prompt` is ignored and may be left out.",
    )

    hr_scale: float = Field(
        1.0, ge=1, le=4, description="Hires fix: > 1 upscales the first pass by this factor and refines it."
    )
    hr_upscaler: str = Field(
        "lanczos",
        strict=True,
        pattern=MODEL_NAME_PATTERN,
        description="Hires fix upscaler: lanczos, bicubic, nearest, or a model in models/upscalers/.",
    )
    hr_steps: int | None = Field(None, strict=True, ge=1, le=150, description="Hires pass steps (null: `steps`).")
    hr_denoise: float = Field(0.5, ge=0, le=1, description="Hires pass strength (A1111 'Denoising strength').")

    @property
    def hires_size(self) -> tuple[int, int] | None:
        """The output size of the hires pass (multiples of 8, at most 2048), or None without one."""
        if self.hr_scale <= 1:
            return None

        def scaled(value: int) -> int:
            target = int(value * self.hr_scale)
            return min(2048, target - target % 8)

        return scaled(self.width), scaled(self.height)

    @model_validator(mode="before")
    @classmethod
    def _prompt_from_batch(cls, data: object) -> object:
        if (
            isinstance(data, dict)
            and "prompt" not in data
            and isinstance(data.get("prompts"), list)
            and data["prompts"]
        ):
            return {**data, "prompt": data["prompts"][0]}
        return data

    @field_validator("prompts")
    @classmethod
    def _batch_fits(cls, value: list[str], info: ValidationInfo) -> list[str]:
        images = len(value) * int(info.data.get("batch_size") or 1)
        if images > MAX_IMAGES_PER_JOB:
            raise ValueError(f"{len(value)} prompts x batch_size make {images} images; at most {MAX_IMAGES_PER_JOB}")
        return value

    def prompt_list(self) -> list[str]:
        return list(self.prompts) or [self.prompt]
