"""Upscale requests (``POST /api/v1/generate/upscale``): one image made larger by a resampler or a model.

Not a generation request (no prompt, no checkpoint), but a job like the others: queued, run by the worker,
read at ``/api/v1/jobs/{id}``. :data:`schemas.requests.unions.JobRequest` is what a job can carry: any
generation mode or an upscale.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.keys import Priority
from schemas.requests.base import ImageField

RESAMPLERS = ("lanczos", "bicubic", "nearest")
"""Upscalers built in (Pillow); any other name is a model in models/upscalers/."""
UPSCALER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


def is_resampler(name: str) -> bool:
    return name in RESAMPLERS


class UpscaleRequest(BaseModel):
    """Make ``image`` ``scale`` times larger (each side), with a model from models/upscalers/ or a resampler."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["upscale"] = Field("upscale", description="Job mode (fixed by the endpoint).")
    image: ImageField
    upscaler: str = Field(
        "lanczos",
        strict=True,
        pattern=UPSCALER_PATTERN,
        description="lanczos, bicubic, nearest, or a model in models/upscalers/ (ESRGAN, Real-ESRGAN, SwinIR, ... "
        "anything spandrel loads; GET /api/v1/models?type=upscaler).",
    )
    scale: float = Field(
        2.0,
        ge=1,
        le=8,
        description="Output size = input size x scale (rounded). A model of another factor runs as often as needed "
        "and the result is resized to the exact size with Lanczos.",
    )
    tile_size: int | None = Field(
        None,
        strict=True,
        ge=32,
        le=4096,
        description="Model upscalers work on tiles of this many input pixels a side (null: the server's "
        "SDQ_UPSCALE_TILE_SIZE); smaller tiles use less memory.",
    )
    priority: Priority = Field(Priority.NORMAL, description="Queue priority.")
    force_regenerate: bool = Field(False, description="Upscale even when an identical request's result is cached.")

    @property
    def steps(self) -> int:
        """Progress units known at submit (the worker counts tiles once it has tiled the image)."""
        return 1

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        return max(1, round(width * self.scale)), max(1, round(height * self.scale))
