"""Content safety: what the API decided at submit (:class:`SafetyPlan`, carried by the job) and what the worker
reports (:class:`SafetyReport`, in the job's result)."""

from __future__ import annotations

from pydantic import BaseModel, Field

DETOXIFY_CATEGORIES = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


class SafetyPlan(BaseModel):
    """Decided by the API: the job's strictness and what the keyword check flagged (categories, never words)."""

    model_config = {"frozen": True}

    strict: bool = False
    flagged: list[str] = Field(default_factory=list, description="Keyword categories: profanity, custom.")


class SafetyReport(BaseModel):
    strict: bool = False
    flagged: list[str] = Field(
        default_factory=list, description="Prompt categories flagged (keyword: profanity/custom; Detoxify's)."
    )
    adjusted: bool = Field(False, description="Safety terms were added to the negative prompt (normal mode).")
    prompt_classifier: str = Field("off", description="detoxify | unavailable: <why> | off.")
    image_checker: str = Field("off", description="on | off.")
