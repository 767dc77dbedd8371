"""The worker's model manager: resolves a model name to its folder, loads it once, keeps it resident.

Device policy: CUDA with fp16 when available (or asked for), else CPU with fp32. One model is resident
at a time in this first version; loading another one releases the previous one first. (The LRU under a
memory budget, offload and attention policies are issue #3.)
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.registry import find_checkpoint
from schemas.errors import ModelLoadFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DevicePolicy:
    device: str
    dtype_name: str

    def describe(self) -> str:
        return f"{self.device}/{self.dtype_name}"


def choose_device(preference: str) -> DevicePolicy:
    """``auto``: CUDA fp16 when available, else CPU fp32. ``cuda`` without CUDA is an error."""
    import torch

    has_cuda = torch.cuda.is_available()
    if preference == "cuda" and not has_cuda:
        raise RuntimeError("SDQ_DEVICE=cuda but torch sees no CUDA device")
    if preference in ("auto", "cuda") and has_cuda:
        return DevicePolicy("cuda", "float16")
    return DevicePolicy("cpu", "float32")


class ModelManager:
    """Loads diffusers pipelines by name and keeps the last one resident."""

    def __init__(self, models_dir: Path, policy: DevicePolicy) -> None:
        self.models_dir = models_dir
        self.policy = policy
        self._resident: dict[str, Any] = {}

    @property
    def loaded(self) -> list[str]:
        return list(self._resident)

    def is_loaded(self, name: str) -> bool:
        return name in self._resident

    def get(self, name: str) -> Any:
        """The resident pipeline for ``name``, loading it (and releasing any other) when needed."""
        pipeline = self._resident.get(name)
        if pipeline is None:
            self.unload_all()
            pipeline = self._load(name)
            self._resident[name] = pipeline
        return pipeline

    def unload_all(self) -> None:
        if not self._resident:
            return
        self._resident.clear()
        gc.collect()
        if self.policy.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    def _load(self, name: str) -> Any:
        import torch
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
        checkpoint = find_checkpoint(self.models_dir, name)
        extra: dict[str, Any] = {}
        if "safety_checker" in checkpoint.components:
            # The image safety checker is optional and configured separately (issue #7).
            extra.update(safety_checker=None, requires_safety_checker=False)
        log.info("loading model %s on %s", name, self.policy.describe())
        try:
            pipeline = DiffusionPipeline.from_pretrained(
                checkpoint.path,
                dtype=getattr(torch, self.policy.dtype_name),
                local_files_only=True,
                **extra,
            )
            pipeline.to(self.policy.device)
        except Exception as exc:
            reason = str(exc).replace(str(checkpoint.path), f"checkpoints/{name}")
            raise ModelLoadFailed(f"model {name!r} failed to load: {type(exc).__name__}: {reason}") from exc
        pipeline.set_progress_bar_config(disable=True)
        return pipeline
