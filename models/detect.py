"""Know what a model file or folder is without loading tensors (torch-free).

Safetensors: the first 8 bytes are the little-endian length of a JSON header mapping tensor names to dtype, shape
and offsets; the key names and a few shapes tell the architecture. ``.ckpt``: the same from the zip's pickle, read
opcode by opcode without unpickling (``models.pickled``). Diffusers folders: ``model_index.json`` (``_class_name``)
and the component configs. Other pickles (``.pt/.pth/.bin``) are listed with arch ``unknown``.

Prediction type of a single-file checkpoint: a ``v_pred`` key (the marker v-prediction SDXL finetunes carry) means
``v_prediction``; for SD2.x, inpainting is ``epsilon`` and otherwise ComfyUI's heuristic decides: the population
std of ``output_blocks.11.1.transformer_blocks.0.norm1.bias`` above 0.09 means ``v_prediction`` (768-v models), else
``epsilon`` (512-base models). Otherwise unknown (the config folder's scheduler decides).
"""

from __future__ import annotations

import math
import statistics
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from models.pickled import read_ckpt_header, read_ckpt_values
from models.safetensors_header import read_safetensors_header, read_tensor_bytes
from models.untrusted import InvalidModel, read_json_object
from schemas.models import Arch, ModelType

SD2_V_PROBE = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
SD2_V_STD = 0.09
Probe = Callable[[str], list[float] | None]
"""The float values of one small tensor of the file by name (None when absent or not a float tensor)."""


@dataclass(frozen=True)
class Detection:
    arch: Arch
    inpaint: bool = False
    prediction: str | None = None
    variant: str | None = None


def _shape(header: dict[str, Any], key: str) -> list[int] | None:
    entry = header.get(key)
    return list(entry["shape"]) if isinstance(entry, dict) else None


def _has(keys: set[str], *prefixes: str) -> bool:
    return any(k.startswith(prefixes) for k in keys)


def _arch_from_context_dim(dim: int | None) -> Arch:
    return {768: Arch.SD1, 1024: Arch.SD2, 2048: Arch.SDXL}.get(dim or 0, Arch.UNKNOWN)


def _decode_floats(raw: bytes, dtype: str) -> list[float] | None:
    """The finite values of a float tensor's bytes (a non-finite one says nothing about a spread)."""
    values = _unpack_floats(raw, dtype)
    return None if values is None else [v for v in values if math.isfinite(v)]


def _unpack_floats(raw: bytes, dtype: str) -> list[float] | None:
    if dtype == "F32":
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if dtype == "F16":
        return list(struct.unpack(f"<{len(raw) // 2}e", raw))
    if dtype == "BF16":
        halves = struct.unpack(f"<{len(raw) // 2}H", raw)
        return list(struct.unpack(f"<{len(halves)}f", struct.pack(f"<{len(halves)}I", *(h << 16 for h in halves))))
    return None


def safetensors_probe(path: Path, header: dict[str, Any], limit: int = 65536) -> Probe:
    def values(key: str) -> list[float] | None:
        found = read_tensor_bytes(path, header, key, limit * 4)
        return _decode_floats(*found) if found is not None else None

    return values


def ckpt_probe(path: Path, header: dict[str, Any], limit: int = 65536) -> Probe:
    def values(key: str) -> list[float] | None:
        entry = header.get(key)
        raw = read_ckpt_values(path, entry, limit) if entry else None
        return _decode_floats(raw, entry["dtype"]) if raw is not None and entry else None

    return values


def _prediction(detection: Detection, keys: set[str], probe: Probe | None) -> str | None:
    if "v_pred" in keys:
        return "v_prediction"
    if detection.arch is Arch.SD2 and detection.inpaint:
        return "epsilon"  # the SD2 inpainting model is not v-prediction
    if detection.arch is Arch.SD2 and probe is not None:
        values = probe(SD2_V_PROBE)
        if values:
            return "v_prediction" if statistics.pstdev(values) > SD2_V_STD else "epsilon"
    return None


def detect_checkpoint(header: dict[str, Any], probe: Probe | None = None) -> Detection:
    """Architecture, inpainting and (when it can tell) prediction type of a single-file checkpoint."""
    detection = _detect_arch(header)
    return replace(detection, prediction=_prediction(detection, set(header), probe))


def _detect_arch(header: dict[str, Any]) -> Detection:
    keys = set(header)
    if _has(keys, "model.diffusion_model.joint_blocks.", "joint_blocks."):
        return Detection(Arch.SD3)
    if _has(keys, "double_blocks.", "model.diffusion_model.double_blocks."):
        return Detection(Arch.FLUX)
    first = _shape(header, "model.diffusion_model.input_blocks.0.0.weight")
    inpaint = bool(first and len(first) == 4 and first[1] == 9)
    if _has(keys, "conditioner.embedders.1."):
        return Detection(Arch.SDXL, inpaint)
    if _has(keys, "conditioner.embedders.0.model."):
        return Detection(Arch.SDXL_REFINER, inpaint)
    if _has(keys, "cond_stage_model.model."):
        return Detection(Arch.SD2, inpaint)
    if _has(keys, "cond_stage_model.transformer."):
        return Detection(Arch.SD1, inpaint)
    return Detection(Arch.UNKNOWN, inpaint)


def _context_dim(header: dict[str, Any], marker: str) -> int | None:
    """The input width of a cross-attention key projection (768 SD1, 1024 SD2, 2048 SDXL)."""
    for key, entry in header.items():
        if marker in key and "to_k" in key and isinstance(entry, dict) and len(entry["shape"]) == 2:
            return int(entry["shape"][1])
    return None


def detect_lora(header: dict[str, Any]) -> Detection:
    keys = set(header)
    if any("lora_te2_" in k or k.startswith("text_encoder_2.") for k in keys):
        return Detection(Arch.SDXL)
    dim = _context_dim({k: v for k, v in header.items() if "down" in k or "lora_A" in k}, "attn2")
    arch = _arch_from_context_dim(dim)
    return Detection(arch if arch is not Arch.UNKNOWN else Arch.SD1)


def detect_embedding(header: dict[str, Any]) -> Detection:
    if "clip_g" in header:
        return Detection(Arch.SDXL)
    for key in ("emb_params", "clip_l", *header):
        shape = _shape(header, key)
        if shape:
            return Detection({768: Arch.SD1, 1024: Arch.SD2, 1280: Arch.SDXL}.get(shape[-1], Arch.UNKNOWN))
    return Detection(Arch.UNKNOWN)


def detect_safetensors(path: Path, folder_type: ModelType) -> tuple[ModelType, Detection]:
    header = read_safetensors_header(path)
    return detect_header(header, folder_type, safetensors_probe(path, header))


def detect_ckpt(path: Path, folder_type: ModelType) -> tuple[ModelType, Detection]:
    """A torch zip checkpoint read without unpickling; the legacy format is listed with arch ``unknown``."""
    if path.stat().st_size == 0:
        raise InvalidModel("empty file")
    header = read_ckpt_header(path)
    if header is None:
        return folder_type, Detection(Arch.UNKNOWN)
    return detect_header(header, folder_type, ckpt_probe(path, header))


def detect_header(
    header: dict[str, Any], folder_type: ModelType, probe: Probe | None = None
) -> tuple[ModelType, Detection]:
    """What the tensors of a single file (names and shapes) make it: type and detection."""
    keys = set(header)
    if folder_type is ModelType.LORA or _has(keys, "lora_unet_", "lora_te") or any(".lora_" in k for k in keys):
        return ModelType.LORA, detect_lora(header)
    if folder_type is ModelType.EMBEDDING or "emb_params" in keys or "clip_g" in keys:
        return ModelType.EMBEDDING, detect_embedding(header)
    if folder_type is ModelType.UPSCALER:
        return ModelType.UPSCALER, Detection(Arch.UPSCALER)
    if _has(keys, "control_model.", "controlnet_cond_embedding."):
        return ModelType.CONTROLNET, Detection(_arch_from_context_dim(_context_dim(header, "attn2")))
    if not _has(keys, "model.diffusion_model.", "double_blocks.", "joint_blocks.") and _has(
        keys, "encoder.down", "decoder.up", "first_stage_model."
    ):
        return ModelType.VAE, Detection(Arch.UNKNOWN)
    return folder_type, detect_checkpoint(header, probe)


_PIPELINE_ARCH = {
    "StableDiffusionPipeline": Arch.SD1,
    "StableDiffusionImg2ImgPipeline": Arch.SD1,
    "StableDiffusionInpaintPipeline": Arch.SD1,
    "StableDiffusionXLPipeline": Arch.SDXL,
    "StableDiffusionXLInpaintPipeline": Arch.SDXL,
    "StableDiffusionXLImg2ImgPipeline": Arch.SDXL_REFINER,
    "StableDiffusion3Pipeline": Arch.SD3,
    "StableDiffusion3Img2ImgPipeline": Arch.SD3,
    "FluxPipeline": Arch.FLUX,
    "FluxImg2ImgPipeline": Arch.FLUX,
}
_COMPONENT_TYPES = {
    "AutoencoderKL": ModelType.VAE,
    "AutoencoderTiny": ModelType.TAESD,
    "ControlNetModel": ModelType.CONTROLNET,
}


def detect_diffusers_pipeline(folder: Path) -> Detection:
    index = read_json_object(folder / "model_index.json")
    arch = _PIPELINE_ARCH.get(str(index.get("_class_name")), Arch.UNKNOWN)
    unet = folder / "unet" / "config.json"
    unet_config = read_json_object(unet) if unet.is_file() else {}
    inpaint = unet_config.get("in_channels") == 9 or "Inpaint" in str(index.get("_class_name"))
    if arch is Arch.SD1 and unet_config.get("cross_attention_dim") == 1024:
        arch = Arch.SD2
    if arch is Arch.SDXL and "text_encoder" not in index:
        arch = Arch.SDXL_REFINER
    scheduler = folder / "scheduler" / "scheduler_config.json"
    prediction = read_json_object(scheduler).get("prediction_type") if scheduler.is_file() else None
    variant = _transformer_variant(folder, arch) if arch in (Arch.SD3, Arch.FLUX) else None
    return Detection(arch, bool(inpaint), prediction if isinstance(prediction, str) else None, variant)


def _transformer_variant(folder: Path, arch: Arch) -> str | None:
    """Flux: ``dev`` when the transformer embeds the guidance scale (``guidance_embeds``), else ``schnell``. SD3:
    ``sd3.5`` when its attention normalises queries and keys (``qk_norm``), else ``sd3``. None without a config."""
    path = folder / "transformer" / "config.json"
    if not path.is_file():
        return None
    config = read_json_object(path)
    if arch is Arch.FLUX:
        return "dev" if config.get("guidance_embeds") is True else "schnell"
    return "sd3.5" if config.get("qk_norm") else "sd3"


def detect_diffusers_component(folder: Path, folder_type: ModelType) -> tuple[ModelType, Detection]:
    config = read_json_object(folder / "config.json")
    kind = _COMPONENT_TYPES.get(str(config.get("_class_name")), folder_type)
    dim = config.get("cross_attention_dim")
    arch = _arch_from_context_dim(dim if isinstance(dim, int) else None)
    if kind is ModelType.CONTROLNET and config.get("_class_name") == "ControlNetModel":
        arch = _controlnet_arch(config, arch)
    return kind, Detection(arch)


def _controlnet_arch(config: dict[str, Any], by_width: Arch) -> Arch:
    """SDXL ControlNets take the text/time embedding (``addition_embed_type: text_time``); SD1 and SD2 ones do not
    and differ in cross-attention width (768, 1024). Another width without it (a small test model) counts as SD1,
    as LoRAs do."""
    if config.get("addition_embed_type") == "text_time":
        return Arch.SDXL
    return by_width if by_width in (Arch.SD1, Arch.SD2) else Arch.SD1
