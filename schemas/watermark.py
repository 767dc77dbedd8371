"""Watermark options: a visible text mark per request (with server defaults) and the invisible mark's read-back."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
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


class WatermarkSettings(BaseModel):
    """The server's watermark settings (``SDQ_WATERMARK_*``, ``SDQ_INVISIBLE_WATERMARK*``; part of
    :class:`schemas.settings.Settings`), and how a request's options combine with them."""

    watermark_text: str | None = Field(None, description="Visible watermark text on every image; unset: none.")
    watermark_position: WatermarkPosition = Field(
        WatermarkPosition.BOTTOM_RIGHT, description="Where the visible watermark goes."
    )
    watermark_opacity: float = Field(0.5, ge=0, le=1, description="Visible watermark opacity.")
    watermark_font_size: int | None = Field(None, ge=6, le=512, description="px; unset: 4% of the shorter side.")
    watermark_font_color: tuple[int, int, int] = Field((255, 255, 255), description="Visible watermark RGB.")
    watermark_margin: int = Field(16, ge=0, le=512, description="Visible watermark distance from the edges, px.")
    watermark_font: Path | None = Field(
        None, description="A TrueType/OpenType font file; unset: the font bundled with Pillow (Aileron Regular)."
    )
    invisible_watermark: bool = Field(
        True, description="Embed an invisible DWT-DCT watermark (invisible-watermark) in images of 256x256 and up."
    )
    invisible_watermark_payload: str = Field(
        "sdqueue", min_length=1, max_length=32, description="What the invisible watermark carries (ASCII)."
    )

    def visible_mark(self, options: WatermarkOptions | None) -> VisibleWatermark | None:
        """A request's visible-mark options over this server's defaults; None when there is no text."""
        chosen = options or WatermarkOptions()
        text = self.watermark_text if chosen.text is None else chosen.text
        if not text:
            return None
        return VisibleWatermark(
            text=text,
            position=chosen.position or self.watermark_position,
            opacity=self.watermark_opacity if chosen.opacity is None else chosen.opacity,
            font_size=chosen.font_size or self.watermark_font_size,
            font_color=chosen.font_color or self.watermark_font_color,
            margin=self.watermark_margin if chosen.margin is None else chosen.margin,
        )
