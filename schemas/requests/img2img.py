"""Image to image (``POST /api/v1/generate/img2img``), with an optional change map (differential img2img)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.requests.base import GenerationBase, ImageField, OptionalDimension, ResizeMode


class Img2ImgRequest(GenerationBase):
    """Image to image: the init image is noised by ``strength`` and denoised towards the prompt."""

    mode: Literal["img2img"] = Field("img2img", description="Generation mode (fixed by the endpoint).")
    init_image: ImageField
    strength: float = Field(0.75, ge=0, le=1, description="How much to change: 0 = the input, 1 = a new image.")
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    resize_mode: ResizeMode = Field(ResizeMode.JUST_RESIZE, description="How the input fits width x height.")
    change_map: ImageField | None = Field(
        None,
        description="Differential img2img: a grey map the size of init_image; white changes most, black keeps "
        "the input exactly. Scales with strength.",
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength
