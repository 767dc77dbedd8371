"""The request unions: a generation of any mode, and what a job carries (a generation or an upscale), each told
apart by ``mode`` (txt2img when absent)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Discriminator, Tag

from schemas.requests.controlnet import ControlNetRequest
from schemas.requests.img2img import Img2ImgRequest
from schemas.requests.inpaint import InpaintRequest
from schemas.requests.txt2img import Txt2ImgRequest
from schemas.requests.upscale import UpscaleRequest

AnyRequest = Txt2ImgRequest | Img2ImgRequest | InpaintRequest | ControlNetRequest


def _mode_of(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("mode", "txt2img"))
    return str(getattr(value, "mode", "txt2img"))


GenerationRequest = Annotated[
    Annotated[Txt2ImgRequest, Tag("txt2img")]
    | Annotated[Img2ImgRequest, Tag("img2img")]
    | Annotated[InpaintRequest, Tag("inpaint")]
    | Annotated[ControlNetRequest, Tag("controlnet")],
    Discriminator(_mode_of),
]
"""Any mode's request, told apart by ``mode`` (txt2img when absent)."""


AnyJobRequest = Txt2ImgRequest | Img2ImgRequest | InpaintRequest | ControlNetRequest | UpscaleRequest

JobRequest = Annotated[
    Annotated[Txt2ImgRequest, Tag("txt2img")]
    | Annotated[Img2ImgRequest, Tag("img2img")]
    | Annotated[InpaintRequest, Tag("inpaint")]
    | Annotated[ControlNetRequest, Tag("controlnet")]
    | Annotated[UpscaleRequest, Tag("upscale")],
    Discriminator(_mode_of),
]
"""What a job carries: a generation request of any mode, or an upscale (told apart by ``mode``)."""
