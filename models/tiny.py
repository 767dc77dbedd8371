"""Build a tiny, randomly initialised SD1.x-style (SDXL, SD3, Flux) diffusers folder entirely offline.

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


TINY_ARCHS = ("sd1", "sd1-inpaint", "sdxl", "sd3", "flux", "flux-schnell")


def write_tiny_model(directory: Path, seed: int = 0, arch: str = "sd1") -> Path:
    """Save a tiny pipeline (``sd1``, ``sd1-inpaint`` with a 9-channel UNet, ``sdxl``, ``sd3``, ``flux`` = Flux.1
    dev, ``flux-schnell``; see :mod:`models.tiny_families`) as a diffusers folder (safetensors weights) at
    ``directory``."""
    if arch not in TINY_ARCHS:
        raise ValueError(f"unknown tiny model arch {arch!r}; choose from {', '.join(TINY_ARCHS)}")
    directory.mkdir(parents=True, exist_ok=True)
    if arch in ("sd3", "flux", "flux-schnell"):
        from models.tiny_families import build_tiny_flux_pipeline, build_tiny_sd3_pipeline

        pipeline = build_tiny_sd3_pipeline(seed) if arch == "sd3" else build_tiny_flux_pipeline(seed, arch == "flux")
    elif arch == "sdxl":
        pipeline = build_tiny_sdxl_pipeline(seed)
    else:
        pipeline = build_tiny_pipeline(seed, inpaint=arch == "sd1-inpaint")
    pipeline.save_pretrained(directory, safe_serialization=True)
    return directory
