"""One handler per job mode (Pillow only, no torch): everything that differs by mode, in one module each.

Adding a mode is adding its request model (``schemas``), its handler module here and a line in :data:`HANDLERS`.
"""

from __future__ import annotations

from typing import Any

from models.modes.base import (
    HiresPlan,
    ImageInput,
    Images,
    ModeHandler,
    Prepared,
    Staged,
    SubmitLimits,
    fit,
    snap,
)
from models.modes.controlnet import ControlNet
from models.modes.img2img import Img2Img
from models.modes.inpaint import Inpaint
from models.modes.txt2img import Txt2Img
from models.modes.upscale import Upscale

HANDLERS: dict[str, ModeHandler] = {
    handler.mode: handler for handler in (Txt2Img(), Img2Img(), Inpaint(), ControlNet(), Upscale())
}


def handler_for(request: Any) -> ModeHandler:
    """The handler of a request's ``mode``."""
    return HANDLERS[request.mode]


__all__ = [
    "HANDLERS",
    "HiresPlan",
    "ImageInput",
    "Images",
    "ModeHandler",
    "Prepared",
    "Staged",
    "SubmitLimits",
    "fit",
    "handler_for",
    "snap",
]
