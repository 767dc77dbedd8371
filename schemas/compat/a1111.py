"""The AUTOMATIC1111 web UI API's request and answer shapes, as far as sdqueue serves them (docs/clients.md).

Lenient like A1111: unknown keys are ignored and null means "the default"; ``alwayson_scripts.controlnet`` (the
ControlNet extension's units) is used, other extension fields (other scripts, ``script_name``, ...) are ignored.
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
    alwayson_scripts: dict[str, Any] | None = Field(
        None, description="controlnet.args: ControlNet units (docs/clients.md); other scripts are ignored."
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


class A1111ExtrasBase(BaseModel):
    """Fields extra-single-image and extra-batch-images share (the upscale part of A1111's "Extras" tab)."""

    model_config = ConfigDict(extra="ignore")

    resize_mode: int | None = Field(None, description="0: scale by upscaling_resize; 1: to upscaling_resize_w x _h.")
    upscaling_resize: float | None = Field(None, description="Scale factor for resize_mode 0, 1..8 (default 2).")
    upscaling_resize_w: int | None = Field(None, description="Target width for resize_mode 1.")
    upscaling_resize_h: int | None = Field(None, description="Target height for resize_mode 1.")
    upscaling_crop: bool | None = Field(None, description="resize_mode 1: crop the result to exactly w x h.")
    upscaler_1: str | None = Field(
        None, description="None, Lanczos, Nearest, Bicubic, or a model name from GET /sdapi/v1/upscalers."
    )
    upscaler_2: str | None = Field(None, description="Accepted and ignored (no blending of two upscalers).")
    extras_upscaler_2_visibility: float | None = Field(None, description="Accepted and ignored.")
    gfpgan_visibility: float | None = Field(None, description="Accepted and ignored (no face restoration).")
    codeformer_visibility: float | None = Field(None, description="Accepted and ignored (no face restoration).")


class A1111ExtrasSingle(A1111ExtrasBase):
    image: str = Field(min_length=1, description="Base64 image or data URL.")


class A1111BatchImage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: str = Field(min_length=1, description="Base64 image or data URL.")
    name: str | None = None


class A1111ExtrasBatch(A1111ExtrasBase):
    imageList: list[A1111BatchImage] = Field(min_length=1, max_length=16, description="1..16 images.")


class ExtrasSingleAnswer(BaseModel):
    html_info: str
    image: str = Field(description="Base64 PNG.")


class ExtrasBatchAnswer(BaseModel):
    html_info: str
    images: list[str] = Field(description="Base64 PNGs, in the order of imageList.")
