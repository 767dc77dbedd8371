"""Installed models as the API lists them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ModelType(StrEnum):
    CHECKPOINT = "checkpoint"
    LORA = "lora"
    VAE = "vae"
    CONTROLNET = "controlnet"
    UPSCALER = "upscaler"
    EMBEDDING = "embedding"
    TAESD = "taesd"
    PRESET = "preset"
    PROMPT = "prompt"
    NEG_PROMPT = "neg_prompt"


# folder under the models dir -> the type of what it holds
TYPE_FOLDERS: dict[str, ModelType] = {
    "checkpoints": ModelType.CHECKPOINT,
    "lora": ModelType.LORA,
    "vae": ModelType.VAE,
    "controlnet": ModelType.CONTROLNET,
    "upscalers": ModelType.UPSCALER,
    "embeddings": ModelType.EMBEDDING,
    "taesd": ModelType.TAESD,
    "presets": ModelType.PRESET,
    "prompts": ModelType.PROMPT,
    "neg_prompts": ModelType.NEG_PROMPT,
}


class Arch(StrEnum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    SDXL_REFINER = "sdxl-refiner"
    SD3 = "sd3"
    FLUX = "flux"
    UPSCALER = "upscaler"
    UNKNOWN = "unknown"


class ModelEntry(BaseModel):
    id: str = Field(description="'<type>:<name>', stable across rescans.")
    name: str
    type: ModelType
    format: str = Field(description="diffusers | safetensors | ckpt | pt | pth | bin | json | yaml | txt | hub")
    arch: Arch
    inpaint: bool = Field(False, description="A 9-channel (inpainting) UNet.")
    prediction: str | None = Field(None, description="epsilon | v_prediction, when known.")
    variant: str | None = Field(
        None, description="Within a family, when known: schnell | dev (flux), sd3 | sd3.5 (sd3 diffusers folders)."
    )
    path: str = Field(description="Relative to the models folder (or the hub id).")
    size_bytes: int
    modified_at: datetime | None = None
    status: str = Field(description="valid | invalid")
    reason: str | None = Field(None, description="Why the entry is invalid.")
    sha256: str | None = Field(None, description="Full sha256 of the file, once computed.")
    short_hash: str | None = Field(None, description="AUTOMATIC1111 short hash: the first 10 hex digits of sha256.")


class ModelPage(BaseModel):
    items: list[ModelEntry]
    page: int
    limit: int
    total: int


class ModelOperation(BaseModel):
    """A load or unload the worker carries out (``POST /api/v1/models/{id}/load``); poll its ``links.self``."""

    id: str
    action: str = Field(description="load | unload | watermark_check")
    model: str
    status: str = Field(description="queued | started | finished | failed")
    result: dict[str, object] | None = Field(None, description="What the worker did (resident models, seconds).")
    error: str | None = None
    links: dict[str, str]


class ModelStats(BaseModel):
    counts: dict[str, int] = Field(description="Entries per type.")
    invalid: int
    bytes: int
    workers: list[dict[str, object]] = Field(description="Per worker: resident models, loads, evictions, budget.")
