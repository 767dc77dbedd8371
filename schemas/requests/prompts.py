"""Prompts: LoRA tags (``<lora:name:weight>``, AUTOMATIC1111 syntax), their limits, and embedding mentions."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
LORA_WEIGHT_MIN, LORA_WEIGHT_MAX = -4.0, 4.0
MAX_LORAS = 8


class LoraRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(strict=True, pattern=MODEL_NAME_PATTERN, description="A file in models/lora/ (no extension).")
    weight: float = Field(
        1.0, ge=LORA_WEIGHT_MIN, le=LORA_WEIGHT_MAX, description="Adapter weight, -4..4; 0 leaves the model as it is."
    )


LORA_TAG = re.compile(r"<lora:([A-Za-z0-9][A-Za-z0-9._-]{0,127}):(-?\d+(?:\.\d+)?)>")


def lora_tags(prompt: str) -> list[tuple[str, float]]:
    """(name, weight) of each ``<lora:name:weight>`` tag in a prompt, weights as written (unchecked)."""
    return [(m.group(1), float(m.group(2))) for m in LORA_TAG.finditer(prompt)]


def check_lora_tags(prompt: str) -> None:
    """ValueError naming the tag when a tag's weight is out of range or the prompt has too many tags."""
    tags = lora_tags(prompt)
    for name, weight in tags:
        if not LORA_WEIGHT_MIN <= weight <= LORA_WEIGHT_MAX:
            raise ValueError(
                f"<lora:{name}:...> has weight {weight:g}; LoRA weights are {LORA_WEIGHT_MIN:g}..{LORA_WEIGHT_MAX:g}"
            )
    if len(tags) > MAX_LORAS:
        raise ValueError(f"{len(tags)} <lora:...> tags in the prompt; at most {MAX_LORAS} LoRAs per request")


def split_lora_tags(prompt: str) -> tuple[str, list[LoraRef]]:
    """Take ``<lora:name:weight>`` tags out of a prompt (AUTOMATIC1111 syntax); requests check them at
    validation (:func:`check_lora_tags`)."""
    found = [LoraRef(name=name, weight=weight) for name, weight in lora_tags(prompt)]
    cleaned = re.sub(r"\s{2,}", " ", LORA_TAG.sub("", prompt)).strip(" ,")
    return cleaned, found


def mentions(name: str, text: str) -> bool:
    """Whether ``name`` appears in ``text`` as a word of its own (how A1111 finds embeddings in prompts)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None
