"""The prompt pre-check at submit: cheap keyword matching, no torch (the worker runs Detoxify later).

better-profanity's word list (with its leetspeak variants) is matched word by word, each distinct word checked once
per process (its whole-text check costs about 2 ms per word, seconds for a long prompt; a cache keeps repeated
prompts cheap), plus ``SDQ_SAFETY_KEYWORDS`` (words or phrases, case-insensitive, whole words). Strict requests
with a hit are refused with 400 ``content_blocked`` naming the categories, never the words; normal ones run with
safety terms added to the negative prompt (the worker does that) and the result records it.
"""

from __future__ import annotations

import functools
import re

from auth.principal import Principal
from schemas.errors import ContentBlocked, Forbidden
from schemas.requests import AnyJobRequest, UpscaleRequest
from schemas.safety import SafetyPlan
from schemas.settings import Settings
from store.metrics import Metrics

WORD = re.compile(r"[^\s,.;:()\[\]{}<>\"|]+")


@functools.lru_cache(maxsize=65536)
def _is_profane(word: str) -> bool:
    from better_profanity import profanity

    return bool(profanity.contains_profanity(word))


@functools.cache
def _load_word_list() -> None:
    from better_profanity import profanity

    profanity.load_censor_words()


def _custom_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    phrases = [re.escape(k.strip()) for k in keywords if k.strip()]
    return re.compile(rf"(?<!\w)(?:{'|'.join(phrases)})(?!\w)", re.IGNORECASE) if phrases else None


class PromptFilter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.custom = _custom_pattern(tuple(settings.safety_keywords))
        if settings.safety_profanity:
            _load_word_list()

    def categories(self, text: str) -> list[str]:
        """The categories ``text`` hits: ``profanity`` and/or ``custom``."""
        found = []
        if self.settings.safety_profanity and any(_is_profane(w) for w in set(WORD.findall(text.lower()))):
            found.append("profanity")
        if self.custom is not None and self.custom.search(text):
            found.append("custom")
        return found

    def plan(self, request: AnyJobRequest, principal: Principal, metrics: Metrics | None) -> SafetyPlan:
        """The job's safety plan; ContentBlocked for a strict request with a flagged prompt (counted in
        ``metrics`` when given: a validate call does not count)."""
        if isinstance(request, UpscaleRequest):
            return SafetyPlan()
        strict = self._strictness(request.strict_safety, principal)
        prompts = [request.prompt, *getattr(request, "prompts", [])]
        flagged = sorted({category for prompt in prompts for category in self.categories(prompt)})
        if metrics is not None:
            for category in flagged:
                metrics.count("safety_blocks", stage="keyword", category=category)
        if strict and flagged:
            raise ContentBlocked(f"the prompt was refused by the safety filter ({', '.join(flagged)})", flagged)
        return SafetyPlan(strict=strict, flagged=flagged)

    def _strictness(self, asked: bool | None, principal: Principal) -> bool:
        default = self.settings.safety_strict
        if asked is None or asked == default or asked:
            return default if asked is None else asked
        if principal.is_admin and self.settings.safety_admins_may_lower:
            return False
        raise Forbidden("strict_safety=false is reserved for admins on this server (its default is strict)")
