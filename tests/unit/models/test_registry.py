"""The torch-free registry: scanning, detection from headers and configs, lookup, default resolution."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from models.detect import InvalidModel, read_safetensors_header
from models.registry import ModelRegistry
from schemas.errors import ModelNotFound, RequestInvalid
from schemas.models import Arch, ModelType


def write_safetensors(path: Path, tensors: dict[str, list[int]], *, truncate: int = 0) -> Path:
    """A real safetensors layout (header + zero-filled float16 data) with the given names and shapes."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * max(0, offset - truncate))
    return path


def add_folder_model(root: Path, name: str, class_name: str = "StableDiffusionPipeline", **configs: dict) -> Path:
    folder = root / "checkpoints" / name
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(
        json.dumps({"_class_name": class_name, "unet": ["x", "y"], "text_encoder": ["a", "b"]})
    )
    for component, config in configs.items():
        (folder / component).mkdir()
        name_ = "scheduler_config.json" if component == "scheduler" else "config.json"
        (folder / component / name_).write_text(json.dumps(config))
    return folder


SD1 = {
    "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": [8, 4],
}
SD1_UNKNOWN = {"model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3]}


@pytest.mark.parametrize(
    ("tensors", "arch", "inpaint"),
    [
        (SD1, Arch.SD1, False),
        ({**SD1, "model.diffusion_model.input_blocks.0.0.weight": [320, 9, 3, 3]}, Arch.SD1, True),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
                "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": [6, 2],
            },
            Arch.SD2,
            False,
        ),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
                "conditioner.embedders.0.transformer.text_model.x": [2],
                "conditioner.embedders.1.model.y": [2],
            },
            Arch.SDXL,
            False,
        ),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": [384, 4, 3, 3],
                "conditioner.embedders.0.model.transformer.x": [2],
            },
            Arch.SDXL_REFINER,
            False,
        ),
        ({"model.diffusion_model.joint_blocks.0.x.attn.qkv.weight": [3, 2]}, Arch.SD3, False),
        ({"double_blocks.0.img_attn.qkv.weight": [3, 2]}, Arch.FLUX, False),
        ({"something.else": [2]}, Arch.UNKNOWN, False),
    ],
)
def test_checkpoint_architectures_from_safetensors_keys(tmp_path: Path, tensors, arch, inpaint) -> None:
    write_safetensors(tmp_path / "checkpoints" / "m.safetensors", tensors)
    entry = ModelRegistry(tmp_path).get("checkpoint:m")
    assert entry is not None
    assert (entry.type, entry.format, entry.arch, entry.inpaint, entry.status) == (
        ModelType.CHECKPOINT,
        "safetensors",
        arch,
        inpaint,
        "valid",
    )


def test_other_kinds_are_recognised(tmp_path: Path) -> None:
    write_safetensors(
        tmp_path / "lora" / "sd1-style.safetensors",
        {"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": [4, 768]},
    )
    write_safetensors(
        tmp_path / "lora" / "xl-style.safetensors",
        {"lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": [4, 1280]},
    )
    write_safetensors(tmp_path / "embeddings" / "bad-hands.safetensors", {"emb_params": [2, 768]})
    write_safetensors(tmp_path / "embeddings" / "xl-neg.safetensors", {"clip_g": [2, 1280], "clip_l": [2, 768]})
    write_safetensors(
        tmp_path / "vae" / "kl-f8.safetensors",
        {"encoder.down.0.block.0.conv1.weight": [2], "decoder.up.0.block.0.conv1.weight": [2]},
    )
    write_safetensors(
        tmp_path / "controlnet" / "canny.safetensors",
        {"control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": [320, 768]},
    )
    write_safetensors(tmp_path / "upscalers" / "4x.safetensors", {"conv_first.weight": [64, 3, 3, 3]})
    (tmp_path / "upscalers" / "2x.pth").write_bytes(b"PK\x03\x04 pickled")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "styles.txt").write_text("a photo of\n")
    found = {e.id: e for e in ModelRegistry(tmp_path).refresh()}
    assert (found["lora:sd1-style"].arch, found["lora:xl-style"].arch) == (Arch.SD1, Arch.SDXL)
    assert (found["embedding:bad-hands"].arch, found["embedding:xl-neg"].arch) == (Arch.SD1, Arch.SDXL)
    assert found["vae:kl-f8"].type is ModelType.VAE
    assert (found["controlnet:canny"].type, found["controlnet:canny"].arch) == (ModelType.CONTROLNET, Arch.SD1)
    assert found["upscaler:4x"].arch is Arch.UPSCALER and found["upscaler:2x"].format == "pth"
    assert found["prompt:styles"].format == "txt"


def test_corrupt_and_truncated_files_are_invalid_with_a_reason(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "checkpoints" / "cut.safetensors", SD1, truncate=10)
    (tmp_path / "checkpoints" / "garbage.safetensors").write_bytes(b"\xff" * 16)
    (tmp_path / "checkpoints" / "tiny.safetensors").write_bytes(b"abc")
    (tmp_path / "checkpoints" / "empty.ckpt").write_bytes(b"")
    found = {e.id: e for e in ModelRegistry(tmp_path).refresh()}
    for name in ("cut", "garbage", "tiny", "empty"):
        entry = found[f"checkpoint:{name}"]
        assert entry.status == "invalid", name
        assert entry.reason, name
    assert "truncated" in (found["checkpoint:cut"].reason or "")
    with pytest.raises(InvalidModel):
        read_safetensors_header(tmp_path / "checkpoints" / "garbage.safetensors")


def test_diffusers_folders_detect_arch_inpaint_prediction(tmp_path: Path) -> None:
    add_folder_model(tmp_path, "base")
    add_folder_model(tmp_path, "v2", unet={"cross_attention_dim": 1024}, scheduler={"prediction_type": "v_prediction"})
    add_folder_model(tmp_path, "fill", "StableDiffusionInpaintPipeline", unet={"in_channels": 9})
    add_folder_model(tmp_path, "xl", "StableDiffusionXLPipeline")
    component = tmp_path / "vae" / "sdxl-fp16-fix"
    component.mkdir(parents=True)
    (component / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKL"}))
    found = {e.id: e for e in ModelRegistry(tmp_path).refresh()}
    assert found["checkpoint:base"].arch is Arch.SD1
    assert (found["checkpoint:v2"].arch, found["checkpoint:v2"].prediction) == (Arch.SD2, "v_prediction")
    assert found["checkpoint:fill"].inpaint is True
    assert found["checkpoint:xl"].arch is Arch.SDXL
    assert (found["vae:sdxl-fp16-fix"].type, found["vae:sdxl-fp16-fix"].format) == (ModelType.VAE, "diffusers")


def test_broken_model_index_is_invalid(tmp_path: Path) -> None:
    folder = add_folder_model(tmp_path, "odd")
    (folder / "model_index.json").write_text("{not json")
    entry = ModelRegistry(tmp_path).get("checkpoint:odd")
    assert entry is not None and entry.status == "invalid" and "unreadable" in (entry.reason or "")


@pytest.mark.parametrize("name", ["missing", "../checkpoints/alpha", "alpha/..", ".alpha", "/etc"])
def test_unknown_or_unsafe_names_raise_naming_model(tmp_path: Path, name: str) -> None:
    add_folder_model(tmp_path, "alpha")
    with pytest.raises(ModelNotFound) as info:
        ModelRegistry(tmp_path).resolve_checkpoint(name, None)
    assert info.value.errors[0].loc == ["body", "model"]
    assert "alpha" in info.value.errors[0].msg


def test_resolution_order(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotFound, match="no model is installed"):
        registry.resolve_checkpoint(None, None)
    add_folder_model(tmp_path, "only")
    assert registry.resolve_checkpoint(None, None).name == "only"
    add_folder_model(tmp_path, "second")
    registry.refresh()
    with pytest.raises(ModelNotFound, match="several models"):
        registry.resolve_checkpoint(None, None)
    assert registry.resolve_checkpoint(None, "second").name == "second"
    assert registry.resolve_checkpoint("only", "second").name == "only"


SD3 = {"model.diffusion_model.joint_blocks.0.x.attn.qkv.weight": [3, 2]}
FLUX = {"double_blocks.0.img_attn.qkv.weight": [3, 2]}
SDXL = {"conditioner.embedders.0.transformer.text_model.x": [2], "conditioner.embedders.1.model.y": [2]}


def test_single_files_of_sd1_sd2_sdxl_are_loadable(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "checkpoints" / "one.safetensors", SD1)
    write_safetensors(tmp_path / "checkpoints" / "xl.safetensors", SDXL)
    registry = ModelRegistry(tmp_path)
    assert registry.resolve_checkpoint("one", None).arch is Arch.SD1
    assert registry.resolve_checkpoint("xl", None).arch is Arch.SDXL
    checkpoint = registry.checkpoint("one")
    assert checkpoint.is_single_file and checkpoint.path == tmp_path / "checkpoints" / "one.safetensors"


@pytest.mark.parametrize(
    ("tensors", "words"), [(SD3, "architecture sd3"), (FLUX, "architecture flux"), (SD1_UNKNOWN, "unknown")]
)
def test_other_single_files_are_refused_naming_model(tmp_path: Path, tensors: dict, words: str) -> None:
    write_safetensors(tmp_path / "checkpoints" / "other.safetensors", tensors)
    with pytest.raises(RequestInvalid) as info:
        ModelRegistry(tmp_path).resolve_checkpoint("other", None)
    assert info.value.errors[0].loc == ["body", "model"]
    assert words in info.value.errors[0].msg and "sd1, sd2, sdxl" in info.value.errors[0].msg


def test_hub_ids_are_checkpoint_entries(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, ["stabilityai/sdxl-turbo"])
    entry = registry.resolve_checkpoint("sdxl-turbo", None)
    assert (entry.format, entry.path) == ("hub", "stabilityai/sdxl-turbo")
