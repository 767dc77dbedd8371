"""Build a tiny, randomly initialised SD1.x-style diffusers folder entirely offline.

The tests, the README's smoke run and ``sdqueue up --demo`` use it: real diffusers components with the
real loading code, small enough to generate on a CPU in a fraction of a second. Nothing is downloaded:
the CLIP tokenizer's vocabulary (byte-level, no merges) is generated here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _byte_vocab() -> dict[str, int]:
    """A CLIP-style byte-level vocabulary: every byte symbol, alone and word-final, plus the specials."""
    from tokenizers.pre_tokenizers import ByteLevel

    symbols = sorted(ByteLevel.alphabet())
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}


def _tiny_text_config(tokenizer: Any, width: int = 32) -> Any:
    """A 2-layer CLIP text config of ``width`` whose special token ids come from the tokenizer."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        hidden_size=width,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        projection_dim=width,
        vocab_size=len(tokenizer),
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_tiny_pipeline(seed: int = 0, inpaint: bool = False):  # type: ignore[no-untyped-def]
    """Return a tiny ``StableDiffusionPipeline`` with seeded random weights (VAE scale factor 8); with ``inpaint``,
    a ``StableDiffusionInpaintPipeline`` whose UNet takes 9 channels (latents, mask, masked-image latents), the
    layout of SD1.x inpainting checkpoints."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer(vocab=_byte_vocab(), merges=[], model_max_length=77)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=64,
        in_channels=9 if inpaint else 4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=512,
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_tiny_text_config(tokenizer))
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )
    pipeline_class = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    return pipeline_class(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_sdxl_pipeline(seed: int = 0):  # type: ignore[no-untyped-def]
    """A tiny ``StableDiffusionXLPipeline``: two text encoders (the second with projection, and wider, as in the real
    model: diffusers' single-file loader tells them apart by width), text_time UNet."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    base = build_tiny_pipeline(seed)
    tokenizer = base.tokenizer
    config = _tiny_text_config(tokenizer)
    config_2 = _tiny_text_config(tokenizer, width=48)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=8 * 6 + 48,
        cross_attention_dim=32 + 48,
        norm_num_groups=8,
    )
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(config)
    text_encoder_2 = CLIPTextModelWithProjection(config_2)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading"
    )
    return StableDiffusionXLPipeline(
        vae=base.vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=CLIPTokenizer(vocab=_byte_vocab(), merges=[], model_max_length=77),
        unet=unet,
        scheduler=scheduler,
    )


TINY_ARCHS = ("sd1", "sd1-inpaint", "sdxl")


def write_tiny_model(directory: Path, seed: int = 0, arch: str = "sd1") -> Path:
    """Save a tiny pipeline (``sd1``, ``sd1-inpaint`` with a 9-channel UNet, or ``sdxl``) as a diffusers folder
    (safetensors weights) at ``directory``."""
    if arch not in TINY_ARCHS:
        raise ValueError(f"unknown tiny model arch {arch!r}; choose from {', '.join(TINY_ARCHS)}")
    directory.mkdir(parents=True, exist_ok=True)
    if arch == "sdxl":
        pipeline = build_tiny_sdxl_pipeline(seed)
    else:
        pipeline = build_tiny_pipeline(seed, inpaint=arch == "sd1-inpaint")
    pipeline.save_pretrained(directory, safe_serialization=True)
    return directory


def write_tiny_single_file(target: Path, seed: int = 0, arch: str = "sd1") -> Path:
    """The tiny pipeline (``sd1``, ``sd2`` = the SD1 shapes in the SD2/OpenCLIP key layout, or ``sdxl``) as ONE
    ``.safetensors`` (or ``.ckpt``) file in the original LDM key layout, as A1111/Civitai checkpoints come."""
    from models.ldm_layout import save_single_file
    from schemas.models import Arch

    pipeline = build_tiny_sdxl_pipeline(seed) if arch == "sdxl" else build_tiny_pipeline(seed)
    return save_single_file(pipeline, Arch(arch), target)


def write_tiny_config(directory: Path, arch: str = "sd1") -> Path:
    """The tiny pipeline's diffusers config folder without weights (JSON + tokenizer files): the ``config=`` its
    single files load with (its shapes are not the real models', so the shipped configs do not fit it)."""
    write_tiny_model(directory, arch="sdxl" if arch == "sdxl" else "sd1")
    for weights in [*directory.rglob("*.safetensors"), *directory.rglob("*.bin")]:
        weights.unlink()
    return directory


def write_tiny_lora(model_dir: Path, target: Path, seed: int = 1, rank: int = 4) -> Path:
    """A random LoRA (UNet attention + text encoder) for the tiny model, saved as one .safetensors file."""
    import torch
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipeline = StableDiffusionPipeline.from_pretrained(model_dir, local_files_only=True)
    torch.manual_seed(seed)
    unet_config = LoraConfig(
        r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False
    )
    text_config = LoraConfig(
        r=rank, lora_alpha=rank, target_modules=["q_proj", "k_proj", "v_proj", "out_proj"], init_lora_weights=False
    )
    pipeline.unet.add_adapter(unet_config)
    pipeline.text_encoder.add_adapter(text_config)
    target.parent.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        target.parent,
        unet_lora_layers=get_peft_model_state_dict(pipeline.unet),
        text_encoder_lora_layers=get_peft_model_state_dict(pipeline.text_encoder),
        weight_name=target.name,
        safe_serialization=True,
    )
    return target


def write_tiny_vae(target: Path, seed: int = 7) -> Path:
    """A VAE with the tiny model's shape and other random weights, as a diffusers folder (for VAE overrides)."""
    import torch

    torch.manual_seed(seed)
    vae = build_tiny_pipeline(seed).vae
    vae.save_pretrained(target, safe_serialization=True)
    return target


def write_tiny_embedding(target: Path, seed: int = 3, vectors: int = 1) -> Path:
    """An A1111-style textual-inversion embedding (``emb_params``) for the tiny text encoder (width 32)."""
    import torch
    from safetensors.torch import save_file

    target.parent.mkdir(parents=True, exist_ok=True)
    save_file({"emb_params": torch.randn(vectors, 32, generator=torch.Generator().manual_seed(seed))}, str(target))
    return target


def write_tiny_upscaler(target: Path, seed: int = 0, scale: int = 4) -> Path:
    """A random ESRGAN (RRDBNet: 16 filters, 2 blocks) that spandrel detects as ESRGAN ``scale``x; written as
    ``.safetensors``, or for a ``.pth`` target as a Real-ESRGAN-style ``{"params_ema": state_dict}`` pickle."""
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(seed)
    network = ESRGAN(in_nc=3, out_nc=3, num_filters=16, num_blocks=2, scale=scale)
    weights = {key: value.contiguous() for key, value in network.state_dict().items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".pth":
        torch.save({"params_ema": weights}, target)
    else:
        save_file(weights, str(target))
    return target


DETOXIFY_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def write_tiny_detoxify(folder: Path, seed: int = 0) -> Path:
    """A Detoxify checkpoint of a random 2-layer BERT (``folder/detoxify.ckpt``) with its transformers config and a
    small WordPiece vocabulary beside it (the folder to configure as ``SDQ_DETOXIFY_CONFIG``)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    words = ["a", "the", "lighthouse", "at", "dusk", "oil", "painting", "cat", "dog", "red", "door", "hate"]
    words += ["kill", "stupid", "you", "are", "i", "will"]
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=5 + len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    config.num_labels = len(DETOXIFY_CLASSES)
    config.save_pretrained(folder)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    arch = {
        "model_type": "bert-base-uncased",  # what Detoxify's released checkpoints name; the loader swaps in folder
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(DETOXIFY_CLASSES),
    }
    checkpoint = {
        "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": DETOXIFY_CLASSES}}},
        "state_dict": model.state_dict(),
    }
    torch.save(checkpoint, folder / "detoxify.ckpt")
    return folder / "detoxify.ckpt"


def write_tiny_safety_checker(folder: Path, *, flags_everything: bool, seed: int = 0) -> Path:
    """A random ``StableDiffusionSafetyChecker`` (``safety_checker/`` + ``feature_extractor/``) whose concept
    thresholds make it flag every image (-1: any cosine similarity exceeds it) or none (2: none can)."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    tower = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2}
    config = CLIPConfig(
        text_config={**tower, "vocab_size": 100, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1},
        vision_config={**tower, "image_size": 32, "patch_size": 8},
        projection_dim=32,
    )
    torch.manual_seed(seed)
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():
        threshold = -1.0 if flags_everything else 2.0
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(threshold)
    checker.save_pretrained(folder / "safety_checker")
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder / "feature_extractor"
    )
    return folder


def write_tiny_controlnet(model_dir: Path, target: Path, seed: int = 11) -> Path:
    """A ControlNet for the tiny model (diffusers folder), copied from its UNet with seeded random weights.

    ``from_unet`` starts a ControlNet as the real training does: zero convolutions out and a small conditioning
    embedding, so it would have no effect at all. Here they get random (He-scaled) weights instead, so the control
    image changes the result visibly and two seeds give two different ControlNets. The conditioning embedding
    has four stages: it downsamples the control image by 8, as the VAE does.
    """
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet", local_files_only=True)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 16, 32, 32))
    generator = torch.Generator().manual_seed(seed)
    embedding = [m for m in controlnet.controlnet_cond_embedding.modules() if isinstance(m, torch.nn.Conv2d)]
    outputs = [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block]
    with torch.no_grad():
        for convs, gain in ((embedding, 2.0), (outputs, 1.0)):
            for conv in convs:
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * (gain / fan_in) ** 0.5)
                if conv.bias is not None:
                    conv.bias.zero_()
    controlnet.save_pretrained(target, safe_serialization=True)
    return target
