"""ControlNet (``POST /api/v1/generate/controlnet``): 1..4 units, each a ControlNet and its control image."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.requests.base import GenerationBase, ImageField, OptionalDimension, ResizeMode
from schemas.requests.prompts import MODEL_NAME_PATTERN

MAX_CONTROLNETS = 4
Preprocessor = Literal["none", "canny"]  # only preprocessors that need no downloaded weights


class ControlNetUnit(BaseModel):
    """One ControlNet of a request: the model, its control image and how strongly and when it steers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    controlnet: str = Field(
        strict=True, pattern=MODEL_NAME_PATTERN, description="A ControlNet in models/controlnet/ (diffusers folder)."
    )
    control_image: ImageField
    conditioning_scale: float = Field(
        1.0, strict=True, ge=0, le=2, description="How strongly it steers (A1111 'Control Weight'); 0 = no effect."
    )
    guidance_start: float = Field(
        0.0, strict=True, ge=0, le=1, description="Fraction of the steps where it starts to apply."
    )
    guidance_end: float = Field(
        1.0, strict=True, ge=0, le=1, description="Fraction of the steps where it stops applying."
    )
    preprocessor: Preprocessor = Field(
        "none", description="none: the control image is used as it is; canny: its edge map (OpenCV), made at submit."
    )
    low_threshold: int = Field(100, strict=True, ge=1, le=255, description="Canny: the lower hysteresis threshold.")
    high_threshold: int = Field(200, strict=True, ge=1, le=255, description="Canny: the upper hysteresis threshold.")

    @model_validator(mode="after")
    def _ranges_in_order(self) -> ControlNetUnit:
        if self.guidance_start >= self.guidance_end:
            raise ValueError(
                f"guidance_start ({self.guidance_start:g}) must be less than guidance_end ({self.guidance_end:g})"
            )
        if self.low_threshold >= self.high_threshold:
            raise ValueError(
                f"low_threshold ({self.low_threshold}) must be less than high_threshold ({self.high_threshold})"
            )
        return self


def control_image_field(index: int) -> str:
    """The job input file name of unit ``index``'s (prepared) control image."""
    return f"control_image_{index}"


class ControlNetRequest(GenerationBase):
    """txt2img (or img2img with ``init_image``) steered by 1..4 ControlNets, each with its own control image."""

    mode: Literal["controlnet"] = Field("controlnet", description="Generation mode (fixed by the endpoint).")
    controlnets: list[ControlNetUnit] = Field(
        min_length=1, max_length=MAX_CONTROLNETS, description="1..4 ControlNet units, applied together."
    )
    init_image: ImageField | None = Field(
        None, description="ControlNet img2img: the image to start from (noised by `strength`); null = txt2img."
    )
    strength: float = Field(
        0.75,
        strict=True,
        ge=0,
        le=1,
        description="With init_image: how much to change (0 = the input); ignored without.",
    )
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    resize_mode: ResizeMode = Field(
        ResizeMode.JUST_RESIZE, description="How init_image and the control images fit width x height."
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength if self.init_image is not None else None
