"""Add-ons for the tiny model: LoRA, VAE, textual-inversion embedding, ControlNet, ESRGAN upscaler."""

from __future__ import annotations

from pathlib import Path

from models.tiny import build_tiny_pipeline


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
