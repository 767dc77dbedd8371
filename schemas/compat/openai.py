"""The OpenAI Images API's request and answer shapes, as far as sdqueue serves them (see docs/clients.md).

Lenient like OpenAI: unknown fields are ignored; ``quality``, ``style``, ``background``, ``moderation`` and
``user`` are accepted and ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ResponseFormat = Literal["b64_json", "url"]
OutputFormat = Literal["png", "webp", "jpeg"]


class ImageGenerationBody(BaseModel):
    """``POST /v1/images/generations``."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(min_length=1, max_length=2000, description="What to draw.")
    model: str | None = Field(None, description="A checkpoint, or an alias (SDQ_OPENAI_MODEL_ALIASES).")
    n: int = Field(1, ge=1, le=8, description="Images, 1..8 (one job).")
    size: str | None = Field(None, description="'WxH' (multiples of 8, 64..2048) or 'auto' (the native default).")
    response_format: ResponseFormat | None = Field(None, description="Default: url for dall-e-*, else b64_json.")
    output_format: OutputFormat = Field("png", description="Encoding of b64_json images.")
    output_compression: int | None = Field(None, ge=0, le=100, description="webp/jpeg quality, 0..100.")
    quality: str | None = Field(None, description="Accepted and ignored.")
    style: str | None = Field(None, description="Accepted and ignored.")
    background: str | None = Field(None, description="Accepted and ignored (images are opaque).")
    moderation: str | None = Field(None, description="Accepted and ignored (sdqueue's safety settings apply).")
    user: str | None = Field(None, description="Accepted and ignored (the owner is the authenticated caller).")


class ImageData(BaseModel):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
    output_format: OutputFormat | None = None
    size: str | None = None


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "sdqueue"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
