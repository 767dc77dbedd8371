"""The keyword pre-check: categories (never words), strictness by role, and Detoxify's threshold edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from auth.principal import Principal, Role, Scope
from models.safety import flagged_categories, load_detoxify
from schemas.errors import ContentBlocked, Forbidden
from schemas.requests import Txt2ImgRequest
from schemas.settings import Settings
from server.safety import PromptFilter
from tests.builders.safety import write_tiny_detoxify

ADMIN = Principal(name="root", roles=[Role.ADMIN], scopes=sorted(Scope), method="jwt")
USER = Principal(name="ann", roles=[Role.USER], scopes=[Scope.GENERATE], method="jwt")


def request(prompt: str, **fields: object) -> Txt2ImgRequest:
    return Txt2ImgRequest.model_validate({"prompt": prompt, **fields})


def test_profanity_and_custom_phrases_are_found_as_categories() -> None:
    checks = PromptFilter(Settings(safety_keywords=["lighthouse keeper"]))
    assert checks.categories("a lighthouse at dusk") == []
    assert checks.categories("what the fuck, a lighthouse") == ["profanity"]
    assert checks.categories("sh1t") == ["profanity"]  # better-profanity's character variants
    assert checks.categories("The Lighthouse Keeper at dusk") == ["custom"]
    assert checks.categories("a lighthouse keepers' hut") == []  # whole words only


def test_strict_requests_with_a_hit_are_refused_naming_categories_not_words() -> None:
    checks = PromptFilter(Settings())
    with pytest.raises(ContentBlocked) as refused:
        checks.plan(request("what the fuck", strict_safety=True), USER, None)
    assert "profanity" in refused.value.detail and "fuck" not in refused.value.detail
    assert refused.value.status == 400 and refused.value.errors[0].loc == ["body", "prompt"]
    relaxed = checks.plan(request("what the fuck"), USER, None)
    assert relaxed.flagged == ["profanity"] and not relaxed.strict
    assert checks.plan(request("x", prompts=["a cat", "a damn dog"]), USER, None).flagged == ["profanity"]


def test_only_admins_may_lower_a_strict_server_default() -> None:
    checks = PromptFilter(Settings(safety_strict=True))
    assert checks.plan(request("a cat"), USER, None).strict
    assert not checks.plan(request("a cat", strict_safety=False), ADMIN, None).strict
    with pytest.raises(Forbidden):
        checks.plan(request("a cat", strict_safety=False), USER, None)
    with pytest.raises(Forbidden):
        PromptFilter(Settings(safety_strict=True, safety_admins_may_lower=False)).plan(
            request("a cat", strict_safety=False), ADMIN, None
        )
    assert PromptFilter(Settings()).plan(request("a cat", strict_safety=True), USER, None).strict  # raising: anyone


def test_detoxify_flags_a_category_exactly_at_its_threshold(tmp_path: Path) -> None:
    classifier = load_detoxify(write_tiny_detoxify(tmp_path), tmp_path)
    scores = classifier.predict("you are stupid")
    assert set(scores) == {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
    edge = scores["insult"]
    assert flagged_categories(scores, {"insult": edge}) == ["insult"]
    assert flagged_categories(scores, {"insult": edge + 1e-6}) == []
    assert flagged_categories(scores, {}) == []
