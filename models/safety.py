"""Worker-side safety models, loaded once and offline: Detoxify for prompts, diffusers' StableDiffusionSafetyChecker
for images.

Detoxify normally downloads its checkpoint and then asks the hub for the ``bert-base-uncased`` (or other) config and
tokenizer; neither works offline. Here the checkpoint is a configured local file and the transformers files come
from a configured local folder, passed through Detoxify's own loader (``get_model_and_tokenizer``) in place of the
hub name, and scoring is Detoxify's own ``predict``. A checkpoint is read with ``weights_only=True`` when it allows
it (plain containers and tensors); Detoxify's released ``.ckpt`` files need full unpickling, which only a file the
operator configured gets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        loaded: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        log.warning("Detoxify checkpoint %s needs full unpickling; loading it as configured", path.name)
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    if "config" not in loaded or "state_dict" not in loaded:
        raise ValueError(f"{path.name} is not a Detoxify checkpoint (it needs 'config' and 'state_dict')")
    return loaded


def load_detoxify(checkpoint: Path, config_dir: Path, device: str = "cpu") -> Any:
    """A ready ``detoxify.Detoxify`` built from local files only."""
    from detoxify import Detoxify
    from detoxify.detoxify import get_model_and_tokenizer

    loaded = _load_checkpoint(checkpoint)
    arch = {**loaded["config"]["arch"]["args"], "model_type": str(config_dir)}  # the local folder, not the hub
    renamed = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
    model, tokenizer = get_model_and_tokenizer(
        **arch, state_dict=loaded["state_dict"], huggingface_config_path=str(config_dir)
    )
    classifier = Detoxify.__new__(Detoxify)  # Detoxify() would download; its predict() is what is used
    classifier.model, classifier.tokenizer, classifier.device = model.to(device), tokenizer, device
    classifier.class_names = [renamed.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
    return classifier


def flagged_categories(scores: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Categories whose score reaches its threshold (a category without a threshold is never flagged)."""
    return sorted(name for name, score in scores.items() if name in thresholds and score >= thresholds[name])


class ImageChecker:
    """diffusers' StableDiffusionSafetyChecker with its CLIP image processor, from ``<folder>/safety_checker`` and
    ``<folder>/feature_extractor`` (the layout of an SD 1.x diffusers folder)."""

    def __init__(self, folder: Path, device: str) -> None:
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        from transformers import CLIPImageProcessor

        self.device = device
        self.processor = CLIPImageProcessor.from_pretrained(folder / "feature_extractor", local_files_only=True)
        checker: Any = StableDiffusionSafetyChecker  # transformers' typing of from_pretrained confuses mypy
        self.model = checker.from_pretrained(folder / "safety_checker", local_files_only=True).to(device).eval()

    def flags(self, images: list[Any]) -> list[bool]:
        """Whether each PIL image shows a concept the checker is trained to flag."""
        import numpy as np
        import torch

        clip_input = self.processor(images, return_tensors="pt").pixel_values.to(self.device)
        arrays = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in images])
        with torch.inference_mode():
            _, flagged = self.model(images=arrays, clip_input=clip_input)
        return [bool(flag) for flag in flagged]
