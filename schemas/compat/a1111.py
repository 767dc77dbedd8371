"""The AUTOMATIC1111 web UI API's request and answer shapes, as far as sdqueue serves them (docs/clients.md).

Lenient like A1111: unknown keys are ignored and null means "the default"; extension fields (``alwayson_scripts``,
``script_name``, ...) are accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class A1111Base(BaseModel):
    """Fields txt2img and img2img share."""

    model_config = ConfigDict(extra="ignore")

    prompt: str | None = None
    negative_prompt: str | None = None
    styles: list[str] | None = Field(None, description="Accepted and ignored (no saved styles).")
    seed: int | None = None
    sampler_name: str | None = Field(None, description="'Euler a', 'DPM++ 2M', or with a schedule: 'DPM++ 2M Karras'.")
    sampler_index: str | None = Field(None, description="Older name of sampler_name.")
    scheduler: str | None = None
    batch_size: int | None = None
    n_iter: int | None = Field(None, description="Batches; batch_size x n_iter images in one job (at most 8).")
    steps: int | None = None
    cfg_scale: float | None = None
    width: int | None = None
    height: int | None = None
    denoising_strength: float | None = None
    override_settings: dict[str, Any] | None = Field(
        None, description="sd_model_checkpoint and CLIP_stop_at_last_layers are used; the rest is ignored."
    )
    send_images: bool | None = Field(None, description="false: the answer's images is empty.")
    save_images: bool | None = Field(None, description="Images are always kept as a native job (retention applies).")


class A1111Txt2Img(A1111Base):
    enable_hr: bool | None = None
    hr_scale: float | None = None
    hr_upscaler: str | None = None
    hr_second_pass_steps: int | None = None


class A1111Img2Img(A1111Base):
    init_images: list[str] = Field(min_length=1, description="Base64 images or data URLs; the first is used.")
    mask: str | None = Field(None, description="White = repaint: turns the call into inpainting.")
    mask_blur: int | None = None
    inpainting_mask_invert: int | bool | None = None
    inpaint_full_res: bool | int | None = None
    inpaint_full_res_padding: int | None = None
    resize_mode: int | None = Field(None, description="0 just resize, 1 crop and resize, 2 resize and fill.")


class A1111Answer(BaseModel):
    images: list[str] = Field(description="Base64 PNGs (no data: prefix), with their parameters chunk.")
    parameters: dict[str, Any] = Field(description="The request as received.")
    info: str = Field(description="A JSON string: seeds, sizes, infotexts, sdqueue's job_id.")


class PngInfoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str = Field(min_length=1, description="Base64 image or data URL.")


class PngInfoAnswer(BaseModel):
    info: str
    items: dict[str, Any]
    parameters: dict[str, Any]
