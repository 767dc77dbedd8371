"""Watermark options: a visible text mark per request (with server defaults) and the invisible mark's read-back."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class WatermarkPosition(StrEnum):
    TOP_LEFT = "top-left"
    TOP_RIGHT = "top-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_RIGHT = "bottom-right"
    CENTER = "center"


Channel = Annotated[int, Field(strict=True, ge=0, le=255)]


class WatermarkOptions(BaseModel):
    """A visible text watermark; every field left out (or null) takes the server's default (SDQ_WATERMARK_*)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(
        None, strict=True, max_length=200, description='The text; "" = no visible mark for this request.'
    )
    position: WatermarkPosition | None = Field(None, description="Corner or center.")
    opacity: float | None = Field(None, ge=0, le=1, description="0 = invisible, 1 = opaque.")
    font_size: int | None = Field(
        None, strict=True, ge=6, le=512, description="Pixels; null = 4% of the shorter image side (at least 10)."
    )
    font_color: tuple[Channel, Channel, Channel] | None = Field(None, description="RGB, e.g. [255, 255, 255].")
    margin: int | None = Field(None, strict=True, ge=0, le=512, description="Distance from the edges, px.")


class VisibleWatermark(BaseModel):
    """The visible mark as the worker applies it: request options merged over the server's defaults."""

    model_config = ConfigDict(frozen=True)

    text: str
    position: WatermarkPosition
    opacity: float
    font_size: int | None
    font_color: tuple[int, int, int]
    margin: int


class WatermarkCheck(BaseModel):
    """What ``POST /api/v1/watermark/check`` (and ``sdqueue watermark-check``) read from an image."""

    watermarked: bool = Field(description="The image carries this server's invisible payload.")
    payload: str | None = Field(description="The payload read (null when the image is too small to carry one).")
    expected: str = Field(description="This server's payload (SDQ_INVISIBLE_WATERMARK_PAYLOAD).")
    detail: str
