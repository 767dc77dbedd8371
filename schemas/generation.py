"""Generation requests: one frozen base with the shared fields, one subclass per mode.

Numbers and strings are strict (``"512"`` or ``true`` is not a width); unknown fields are refused.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.keys import Priority

SEED_MAX = 2**32 - 1
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Sampler(StrEnum):
    """Samplers by their short API names; :attr:`label` is the AUTOMATIC1111 name used in infotext."""

    EULER = "euler"
    EULER_A = "euler_a"
    HEUN = "heun"
    DDIM = "ddim"
    PNDM = "pndm"
    DPMPP_2M = "dpmpp_2m"
    DPMPP_2M_KARRAS = "dpmpp_2m_karras"
    UNIPC = "unipc"

    @property
    def label(self) -> str:
        return _SAMPLER_LABELS[self]


_SAMPLER_LABELS = {
    Sampler.EULER: "Euler",
    Sampler.EULER_A: "Euler a",
    Sampler.HEUN: "Heun",
    Sampler.DDIM: "DDIM",
    Sampler.PNDM: "PLMS",
    Sampler.DPMPP_2M: "DPM++ 2M",
    Sampler.DPMPP_2M_KARRAS: "DPM++ 2M Karras",
    Sampler.UNIPC: "UniPC",
}

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
    sampler: Sampler = Field(Sampler.EULER_A, description="Sampler (scheduler) to denoise with.")
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

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must contain more than whitespace")
        return value

    @field_validator("cfg_scale", mode="before")
    @classmethod
    def _cfg_is_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("cfg_scale must be a number")
        return value


class Txt2ImgRequest(GenerationBase):
    """Text to image."""

    mode: Literal["txt2img"] = Field("txt2img", description="Generation mode (fixed by the endpoint).")


GenerationRequest = Annotated[Txt2ImgRequest, Field(discriminator="mode")]


def batch_seeds(seed: int, batch_size: int) -> list[int]:
    """Seeds of a batch, AUTOMATIC1111 style: seed, seed+1, ... wrapping at 2^32."""
    return [(seed + index) % (SEED_MAX + 1) for index in range(batch_size)]
