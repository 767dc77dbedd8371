"""Safety checks in the worker: Detoxify on the prompts before generating, the image checker after.

Strict jobs fail (``content_blocked`` / ``nsfw_detected``); normal ones run with the safety terms added to the
negative prompt, and flagged images are replaced by black ones marked ``nsfw``. Either way the result records
what was found (:class:`SafetyReport`). A classifier that is not configured or does not load is reported in the
worker's status and skipped: the API's keyword check still applies.
"""

from __future__ import annotations

import logging
from typing import Any

from PIL import Image

from models.safety import ImageChecker, flagged_categories, load_detoxify
from schemas.errors import ContentBlocked, NsfwDetected
from schemas.requests import AnyRequest
from schemas.safety import SafetyPlan, SafetyReport
from schemas.settings import Settings
from store.metrics import Metrics

log = logging.getLogger(__name__)


class SafetyChecks:
    def __init__(self, settings: Settings, device: str) -> None:
        self.settings = settings
        self.detoxify: Any = None
        self.images: ImageChecker | None = None
        self.prompt_status, self.image_status = "off", "off"
        if settings.detoxify_checkpoint is not None:
            try:
                config = settings.detoxify_config or settings.detoxify_checkpoint.parent
                self.detoxify = load_detoxify(settings.detoxify_checkpoint, config, device)
                self.prompt_status = "detoxify"
            except Exception as exc:
                self.prompt_status = f"unavailable: {type(exc).__name__}: {exc}"[:300]
                log.warning("Detoxify is not available: %s", self.prompt_status)
        if settings.safety_checker is not None:
            try:
                self.images = ImageChecker(settings.safety_checker, device)
                self.image_status = "on"
            except Exception as exc:
                self.image_status = f"unavailable: {type(exc).__name__}: {exc}"[:300]
                log.warning("the image safety checker is not available: %s", self.image_status)

    @property
    def status(self) -> dict[str, str]:
        return {"prompt_classifier": self.prompt_status, "image_checker": self.image_status}

    def check_prompts(self, plan: SafetyPlan, request: AnyRequest, metrics: Metrics) -> tuple[SafetyReport, AnyRequest]:
        """The report so far and the request to run (its negative prompt extended when flagged, normal mode)."""
        found = set(plan.flagged)
        if self.detoxify is not None:
            texts = [request.prompt, *getattr(request, "prompts", [])]
            for text in texts:
                scores = self.detoxify.predict(text)
                for category in flagged_categories(scores, self.settings.detoxify_thresholds):
                    found.add(category)
                    metrics.count("safety_blocks", stage="detoxify", category=category)
        report = SafetyReport(
            strict=plan.strict,
            flagged=sorted(found),
            prompt_classifier=self.prompt_status,
            image_checker=self.image_status,
        )
        if not found:
            return report, request
        if plan.strict:
            raise ContentBlocked(
                f"the prompt was refused by the safety filter ({', '.join(sorted(found))})", sorted(found)
            )
        terms = self.settings.safety_negative_terms
        negative = f"{request.negative_prompt}, {terms}" if request.negative_prompt else terms
        return report.model_copy(update={"adjusted": True}), request.model_copy(update={"negative_prompt": negative})

    def check_images(self, report: SafetyReport, images: list[Any], metrics: Metrics) -> tuple[list[Any], list[bool]]:
        """The images to keep (flagged ones blacked out) and which were flagged; NsfwDetected when strict."""
        if self.images is None or not images:
            return images, [False] * len(images)
        flags = self.images.flags(images)
        for _ in range(sum(flags)):
            metrics.count("safety_blocks", stage="image", category="nsfw")
        if any(flags) and report.strict:
            raise NsfwDetected(f"the image safety checker flagged {sum(flags)} of {len(images)} image(s)")
        kept = [Image.new("RGB", image.size) if flag else image for image, flag in zip(images, flags, strict=True)]
        return kept, flags
