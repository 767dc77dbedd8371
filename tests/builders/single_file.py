"""The tiny model as one single-file checkpoint (LDM key layout, as A1111/Civitai files come) and its config folder."""

from __future__ import annotations

from pathlib import Path

from models.tiny import build_tiny_pipeline, build_tiny_sdxl_pipeline, write_tiny_model


def write_tiny_single_file(target: Path, seed: int = 0, arch: str = "sd1") -> Path:
    """The tiny pipeline (``sd1``, ``sd2`` = the SD1 shapes in the SD2/OpenCLIP key layout, or ``sdxl``) as ONE
    ``.safetensors`` (or ``.ckpt``) file in the original LDM key layout, as A1111/Civitai checkpoints come."""
    from schemas.models import Arch
    from tests.builders.ldm_layout import save_single_file

    pipeline = build_tiny_sdxl_pipeline(seed) if arch == "sdxl" else build_tiny_pipeline(seed)
    return save_single_file(pipeline, Arch(arch), target)


def write_tiny_config(directory: Path, arch: str = "sd1") -> Path:
    """The tiny pipeline's diffusers config folder without weights (JSON + tokenizer files): the ``config=`` its
    single files load with (its shapes are not the real models', so the shipped configs do not fit it)."""
    write_tiny_model(directory, arch="sdxl" if arch == "sdxl" else "sd1")
    for weights in [*directory.rglob("*.safetensors"), *directory.rglob("*.bin")]:
        weights.unlink()
    return directory
