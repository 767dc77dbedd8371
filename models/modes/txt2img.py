"""txt2img: no input images; a hires fix and a prompt batch are its own."""

from __future__ import annotations

from models.modes.base import HiresPlan, ModeHandler
from schemas.requests import Txt2ImgRequest

HIRES_FIELDS = {"hr_scale", "hr_upscaler", "hr_steps", "hr_denoise"}


class Txt2Img(ModeHandler):
    mode = "txt2img"

    def unused_fields(self, request: Txt2ImgRequest) -> set[str]:
        """The hires fields without a hires pass, and ``prompt`` when a prompt batch replaces it."""
        unused = set() if request.hires_size is not None else set(HIRES_FIELDS)
        return unused | {"prompt"} if request.prompts else unused

    def hires(self, request: Txt2ImgRequest) -> HiresPlan | None:
        if request.hires_size is None:
            return None
        return HiresPlan(request.hires_size, request.hr_upscaler, request.hr_steps or request.steps, request.hr_denoise)

    def infotext_sampling(self, request: Txt2ImgRequest) -> list[str]:
        plan = self.hires(request)
        if plan is None:
            return []
        return [
            f"Denoising strength: {plan.strength:g}",
            f"Hires upscale: {request.hr_scale:g}",
            f"Hires steps: {plan.steps}",
            f"Hires upscaler: {plan.upscaler.capitalize()}",
        ]
