"""Inpainting (``POST /api/v1/generate/inpaint``): repaint the white part of a mask."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.requests.base import GenerationBase, ImageField, OptionalDimension


class InpaintRequest(GenerationBase):
    """Repaint the white part of ``mask`` (the same size as ``image``); the rest stays as it is."""

    mode: Literal["inpaint"] = Field("inpaint", description="Generation mode (fixed by the endpoint).")
    image: ImageField
    mask: ImageField
    mask_blur: int = Field(4, strict=True, ge=0, le=64, description="Gaussian blur radius of the mask edge, px.")
    invert_mask: bool = Field(False, description="Repaint the black part instead.")
    strength: float = Field(0.75, ge=0, le=1, description="How much the masked area changes.")
    width: OptionalDimension = None  # type: ignore[assignment]
    height: OptionalDimension = None  # type: ignore[assignment]
    inpaint_full_res: bool = Field(
        False,
        strict=True,
        description="Only masked (A1111 'Inpaint area'): repaint the box around the mask at width x height and paste "
        "it back; the output keeps the image's size.",
    )
    inpaint_full_res_padding: int = Field(
        32,
        strict=True,
        ge=0,
        le=256,
        description="Pixels of context around the mask's box for inpaint_full_res (A1111 'Only masked padding').",
    )

    @property
    def denoising_strength(self) -> float | None:
        return self.strength
