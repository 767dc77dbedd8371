"""Clip skip on SD1/SD2 pipelines with transformers 5.

transformers 5 flattened ``CLIPTextModel``: ``final_layer_norm`` hangs off the model itself, and there is no
``text_model`` wrapper any more. diffusers 0.42's SD1/SD2 ``encode_prompt`` still reaches for
``text_encoder.text_model.final_layer_norm`` when ``clip_skip`` is set, so every clip-skip job failed with
``AttributeError``. A read-only view named ``text_model`` puts the old path back without registering a second
module (no parameter is counted, moved or saved twice). SDXL's encoders take the hidden state without the norm and
never need it.
"""

from __future__ import annotations

import weakref
from typing import Any

ENCODERS = ("text_encoder", "text_encoder_2")


class TextModelView:
    """Answers ``final_layer_norm`` from the encoder it was made for; holds it weakly so unloading frees it."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = weakref.ref(encoder)

    @property
    def final_layer_norm(self) -> Any:
        encoder = self._encoder()
        if encoder is None:
            raise RuntimeError("the text encoder this view belonged to was unloaded")
        return encoder.final_layer_norm


def restore_text_model_path(pipeline: Any) -> None:
    """Give each flattened CLIP text encoder of ``pipeline`` the ``text_model`` path diffusers expects."""
    for name in ENCODERS:
        encoder = getattr(pipeline, name, None)
        if encoder is None or hasattr(encoder, "text_model") or not hasattr(encoder, "final_layer_norm"):
            continue
        # A plain (non-Module) attribute: nn.Module.__setattr__ stores it in __dict__, not as a submodule.
        encoder.text_model = TextModelView(encoder)
