"""Single-file checkpoints: the LDM-layout writer and the offline loader round-trip bit for bit; the shipped config
folders are the real models' (parameter counts, diffusers' own type detection, CLIP's BPE ids)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.device import choose_device
from models.generate import run_generation
from models.manager import ModelManager
from models.registry import ModelRegistry
from models.single_file import SHIPPED_CONFIGS, ConfigFolders, load_single_file, materialize
from schemas.models import Arch
from schemas.requests import Txt2ImgRequest
from tests.builders.single_file import write_tiny_config, write_tiny_single_file

# Parameter counts of the real models (stable-diffusion-v1-5, stable-diffusion-2-1, stable-diffusion-xl-base-1.0).
REAL_PARAMETERS = {
    Arch.SD1: {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480},
    Arch.SD2: {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    Arch.SDXL: {
        "unet": 2_567_463_684,
        "vae": 83_653_863,
        "text_encoder": 123_060_480,
        "text_encoder_2": 694_659_840,
    },
}
ASTRONAUT = [49406, 320, 8853, 539, 550, 18376, 49407]  # CLIP ids of "a photograph of an astronaut"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> ConfigFolders:
    return ConfigFolders(tmp_path_factory.mktemp("config-cache"))


@pytest.fixture(scope="module")
def tiny_configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An overrides folder whose sd1/, sd2/ (the same tiny SD1 shapes) and sdxl/ are the tiny models' configs."""
    root = tmp_path_factory.mktemp("tiny-configs")
    write_tiny_config(root / "sd1")
    write_tiny_config(root / "sd2")
    write_tiny_config(root / "sdxl", arch="sdxl")
    return root


def empty_components(folder: Path, arch: Arch) -> dict[str, torch.nn.Module]:
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with init_empty_weights():
        components = {
            "unet": UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet")),
            "vae": AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae")),
            "text_encoder": CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder")),
        }
        if arch is Arch.SDXL:
            config = CLIPTextConfig.from_pretrained(folder / "text_encoder_2")
            components["text_encoder_2"] = CLIPTextModelWithProjection(config)
    return components


@pytest.mark.parametrize("arch", [Arch.SD1, Arch.SD2, Arch.SDXL])
def test_shipped_configs_build_the_real_models(folders: ConfigFolders, arch: Arch) -> None:
    """Each shipped folder loads (pipeline, scheduler, components) and gives the real models' parameter counts;
    written in the original layout, diffusers' own checkpoint detection names the matching model."""
    from types import SimpleNamespace

    from diffusers import DiffusionPipeline, SchedulerMixin
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    from models.detect import detect_checkpoint
    from tests.builders.ldm_layout import pipeline_to_ldm

    folder = folders.folder(arch)
    index = DiffusionPipeline.load_config(folder)
    scheduler_class = getattr(__import__("diffusers"), index["scheduler"][1])
    assert issubclass(scheduler_class, SchedulerMixin)
    scheduler_class.from_config(scheduler_class.load_config(folder / "scheduler"))
    components = empty_components(folder, arch)
    counts = {name: sum(p.numel() for p in module.parameters()) for name, module in components.items()}
    assert counts == REAL_PARAMETERS[arch]
    ldm = pipeline_to_ldm(SimpleNamespace(**components), arch)
    assert infer_diffusers_model_type(ldm) == {Arch.SD1: "v1", Arch.SD2: "v2", Arch.SDXL: "xl_base"}[arch]
    assert detect_checkpoint({k: {"shape": list(v.shape)} for k, v in ldm.items()}).arch is arch


@pytest.mark.parametrize(("arch", "subfolder", "pad"), [("sd1", "tokenizer", 49407), ("sd2", "tokenizer", 0)])
def test_shipped_tokenizers_use_clips_real_bpe(folders: ConfigFolders, arch: str, subfolder: str, pad: int) -> None:
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(folders.folder(Arch(arch)) / subfolder, local_files_only=True)
    assert len(tokenizer) == 49408
    assert tokenizer("a photograph of an astronaut").input_ids == ASTRONAUT
    assert tokenizer.pad_token_id == pad  # SD2 and SDXL's second tokenizer pad with "!" (OpenCLIP)
    padded = tokenizer("an astronaut", padding="max_length", max_length=77).input_ids
    assert len(padded) == 77 and padded[:4] == [49406, 550, 18376, 49407]


def test_sdxl_tokenizers_pad_differently(folders: ConfigFolders) -> None:
    from transformers import CLIPTokenizer

    folder = folders.folder(Arch.SDXL)
    first, second = (CLIPTokenizer.from_pretrained(folder / name) for name in ("tokenizer", "tokenizer_2"))
    assert first("a photograph of an astronaut").input_ids == second("a photograph of an astronaut").input_ids
    assert (first.pad_token, second.pad_token) == ("<|endoftext|>", "!")


def test_config_folders_are_materialised_once_per_variant(tmp_path: Path) -> None:
    folders = ConfigFolders(tmp_path / "cache")
    plain = folders.folder(Arch.SD2)
    assert folders.folder(Arch.SD2) == plain
    assert (plain / "tokenizer" / "vocab.json").is_file() and (plain / "tokenizer" / "merges.txt").is_file()
    assert not (SHIPPED_CONFIGS / "sd2" / "tokenizer" / "vocab.json").exists()
    inpaint = folders.folder(Arch.SD2, inpaint=True, prediction="epsilon")
    assert inpaint != plain
    assert json.loads((inpaint / "unet" / "config.json").read_text())["in_channels"] == 9
    assert json.loads((inpaint / "model_index.json").read_text())["_class_name"] == "StableDiffusionInpaintPipeline"
    assert json.loads((inpaint / "scheduler" / "scheduler_config.json").read_text())["prediction_type"] == "epsilon"
    assert json.loads((plain / "scheduler" / "scheduler_config.json").read_text())["prediction_type"] == "v_prediction"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted([plain.name, inpaint.name])


def test_override_folder_replaces_the_shipped_one_per_arch(tmp_path: Path, tiny_configs: Path) -> None:
    folders = ConfigFolders(tmp_path / "cache", overrides=tiny_configs)
    assert folders.source(Arch.SD1) == tiny_configs / "sd1"
    assert ConfigFolders(tmp_path / "cache", overrides=tmp_path / "absent").source(Arch.SD1) == SHIPPED_CONFIGS / "sd1"
    tiny = folders.folder(Arch.SD1)
    assert json.loads((tiny / "unet" / "config.json").read_text())["cross_attention_dim"] == 32
    assert not list(tiny.rglob("*.safetensors"))
    with pytest.raises(ValueError, match="sd1, sd2, sdxl"):
        folders.source(Arch.SD3)


def test_materialise_copies_only_config_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "unet").mkdir(parents=True)
    (source / "model_index.json").write_text("{}")
    (source / "unet" / "config.json").write_text("{}")
    (source / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"weights")
    target = materialize(source, tmp_path / "cache", Arch.SD1)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "model_index.json",
        "unet/config.json",
    ]


def assert_same_weights(expected: object, loaded: object) -> None:
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        module = getattr(expected, name, None)
        if module is None:
            continue
        want, got = module.state_dict(), getattr(loaded, name).state_dict()
        assert set(want) == set(got), name
        assert all(torch.equal(want[key], got[key]) for key in want), name


@pytest.mark.parametrize(("arch", "suffix"), [("sd1", ".safetensors"), ("sd1", ".ckpt"), ("sd2", ".safetensors")])
def test_single_file_round_trips_bit_for_bit(tmp_path: Path, tiny_configs: Path, arch: str, suffix: str) -> None:
    """Written in the original layout and loaded with from_single_file (config = the tiny model's folder), every
    tensor of every component equals the tiny pipeline's."""
    from models.tiny import build_tiny_pipeline

    path = write_tiny_single_file(tmp_path / f"tiny{suffix}", arch=arch)
    folders = ConfigFolders(tmp_path / "cache", overrides=tiny_configs)
    loaded = load_single_file(path, Arch(arch), folders, torch.float32)
    assert_same_weights(build_tiny_pipeline(0), loaded)


def test_sdxl_single_file_round_trips_bit_for_bit(tmp_path: Path, tiny_configs: Path) -> None:
    from diffusers import StableDiffusionXLPipeline

    from models.tiny import build_tiny_sdxl_pipeline

    path = write_tiny_single_file(tmp_path / "xl.safetensors", arch="sdxl")
    loaded = load_single_file(path, Arch.SDXL, ConfigFolders(tmp_path / "cache", tiny_configs), torch.float32)
    assert isinstance(loaded, StableDiffusionXLPipeline)
    assert_same_weights(build_tiny_sdxl_pipeline(0), loaded)


def test_single_file_and_folder_give_the_same_image(tmp_path: Path, models_dir: Path, tiny_configs: Path) -> None:
    """Through the manager (registry entry -> from_single_file): the same image as the diffusers folder."""
    import shutil

    own = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", own / "checkpoints" / "folder")
    write_tiny_single_file(own / "checkpoints" / "single.safetensors")
    folders = ConfigFolders(tmp_path / "cache", tiny_configs)
    manager = ModelManager(ModelRegistry(own), choose_device("cpu"), configs=folders)
    request = Txt2ImgRequest(prompt="a lighthouse", width=64, height=64, steps=3)
    folder = run_generation(manager.get("folder"), request, [11], lambda *_: None)[0]
    single = run_generation(manager.get("single"), request, [11], lambda *_: None)[0]
    assert np.array_equal(np.asarray(folder), np.asarray(single))


class Callback:
    """Stands for the PyTorch Lightning objects old training checkpoints pickle next to the weights."""

    ran = ""

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(Callback.ran),))


def test_a_ckpt_that_needs_other_classes_is_refused_not_run(tmp_path: Path, tiny_configs: Path) -> None:
    """Detection still reads its tensors (without unpickling); loading (torch.load(weights_only=True)) refuses
    the pickle with a hint instead of running the payload."""
    from models.tiny import build_tiny_pipeline
    from schemas.errors import ModelLoadFailed
    from tests.builders.ldm_layout import pipeline_to_ldm

    Callback.ran = str(tmp_path / "ran")
    state = pipeline_to_ldm(build_tiny_pipeline(0), Arch.SD1)
    (tmp_path / "checkpoints").mkdir()
    torch.save({"state_dict": state, "callbacks": Callback()}, tmp_path / "checkpoints" / "lightning.ckpt")
    registry = ModelRegistry(tmp_path)
    assert registry.resolve_checkpoint("lightning", None).arch is Arch.SD1
    manager = ModelManager(registry, choose_device("cpu"), configs=ConfigFolders(tmp_path / "cache", tiny_configs))
    with pytest.raises(ModelLoadFailed) as info:
        manager.get("lightning")
    assert "weights_only" in info.value.detail and ".safetensors" in info.value.detail
    assert str(tmp_path) not in info.value.detail
    assert not (tmp_path / "ran").exists()


def test_an_inpainting_single_file_loads_as_the_inpaint_pipeline(tmp_path: Path, tiny_configs: Path) -> None:
    """9 input channels: detected as inpaint, loaded with a 9-channel variant of the config and the inpaint class."""
    from diffusers import StableDiffusionInpaintPipeline, UNet2DConditionModel

    from models.tiny import build_tiny_pipeline
    from tests.builders.ldm_layout import save_single_file

    pipeline = build_tiny_pipeline(0)
    torch.manual_seed(0)
    pipeline.unet = UNet2DConditionModel.from_config({**pipeline.unet.config, "in_channels": 9})
    save_single_file(pipeline, Arch.SD1, tmp_path / "checkpoints" / "fill.safetensors")
    registry = ModelRegistry(tmp_path)
    assert registry.resolve_checkpoint("fill", None).inpaint is True
    manager = ModelManager(registry, choose_device("cpu"), configs=ConfigFolders(tmp_path / "cache", tiny_configs))
    loaded = manager.get("fill")
    assert isinstance(loaded, StableDiffusionInpaintPipeline)
    assert loaded.unet.config.in_channels == 9
    assert_same_weights(pipeline, loaded)
