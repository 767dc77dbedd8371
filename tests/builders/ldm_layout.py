"""Write a diffusers pipeline as one checkpoint in the original (LDM/CompVis, A1111) key layout.

The inverse of diffusers' single-file conversion (``convert_ldm_unet_checkpoint``, ``convert_ldm_vae_checkpoint``,
``convert_ldm_clip_checkpoint``, ``convert_open_clip_checkpoint`` in ``diffusers.loaders.single_file_utils``), which
has no diffusers-to-LDM direction in the package. Layouts:

- UNet: ``model.diffusion_model.`` + input_blocks / middle_block / output_blocks (resnet and attention renames).
- VAE: ``first_stage_model.`` + encoder.down.N.block.M / decoder.up.(reversed) / mid.block_1, attention as 1x1 convs.
- SD1 text encoder (CLIP-L, transformers): ``cond_stage_model.transformer.text_model.`` + the transformers names.
- SD2 text encoder (OpenCLIP): ``cond_stage_model.model.`` + resblocks with fused ``in_proj`` q/k/v.
- SDXL: ``conditioner.embedders.0.transformer.text_model.`` (CLIP-L) and ``conditioner.embedders.1.model.``
  (OpenCLIP bigG with ``text_projection``).

Used to write the tiny test models as single files; works for any SD1/SD2/SDXL-shaped pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.models import Arch

_RESNET = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
)
_UNET_TOP = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
}
_VAE_ATTENTION = (
    ("group_norm.", "norm."),
    ("to_q.", "q."),
    ("to_k.", "k."),
    ("to_v.", "v."),
    ("to_out.0.", "proj_out."),
)


def _rename_resnet(rest: str) -> str:
    for new, old in _RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def _unet_key(key: str, per_block: int) -> str:
    """One diffusers UNet key in the LDM layout (``per_block`` = layers_per_block)."""
    for new, old in _UNET_TOP.items():
        if key.startswith(new + "."):
            return old + key[len(new) :]
    parts = key.split(".")
    if parts[0] == "mid_block":
        index = {"resnets": 2 * int(parts[2]), "attentions": 1}[parts[1]]
        rest = ".".join(parts[3:])
        return f"middle_block.{index}." + (_rename_resnet(rest) if parts[1] == "resnets" else rest)
    block, kind, layer, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
    if parts[0] == "down_blocks":
        if kind == "downsamplers":
            return f"input_blocks.{1 + block * (per_block + 1) + per_block}.0.op.{rest.removeprefix('conv.')}"
        index = 1 + block * (per_block + 1) + layer
        return f"input_blocks.{index}." + (f"0.{_rename_resnet(rest)}" if kind == "resnets" else f"1.{rest}")
    if kind == "upsamplers":
        return f"output_blocks.{block * (per_block + 1) + per_block}.UPSAMPLE.{rest}"
    index = block * (per_block + 1) + layer
    return f"output_blocks.{index}." + (f"0.{_rename_resnet(rest)}" if kind == "resnets" else f"1.{rest}")


def unet_to_ldm(state: dict[str, Any], layers_per_block: int) -> dict[str, Any]:
    out = {_unet_key(key, layers_per_block): value for key, value in state.items()}
    with_attention = {key.split(".")[1] for key in out if key.startswith("output_blocks.") and ".1.transformer" in key}
    fixed = {}
    for key, value in out.items():
        if ".UPSAMPLE." in key:
            index = key.split(".")[1]
            key = key.replace(".UPSAMPLE.", ".2." if index in with_attention else ".1.")
        fixed[key] = value
    return fixed


def _vae_key(key: str, up_blocks: int) -> str:
    coder, rest = key.split(".", 1) if key.startswith(("encoder.", "decoder.")) else ("", key)
    rest = rest.replace("conv_norm_out.", "norm_out.")
    parts = rest.split(".")
    if parts[0] in ("down_blocks", "up_blocks"):
        block = int(parts[1]) if parts[0] == "down_blocks" else up_blocks - 1 - int(parts[1])
        name = "down" if parts[0] == "down_blocks" else "up"
        if parts[2] in ("downsamplers", "upsamplers"):
            rest = f"{name}.{block}.{name}sample." + ".".join(parts[4:])
        else:
            rest = f"{name}.{block}.block.{parts[3]}." + ".".join(parts[4:]).replace("conv_shortcut", "nin_shortcut")
    elif parts[0] == "mid_block" and parts[1] == "resnets":
        rest = f"mid.block_{int(parts[2]) + 1}." + ".".join(parts[3:]).replace("conv_shortcut", "nin_shortcut")
    elif parts[0] == "mid_block":
        rest = "mid.attn_1." + ".".join(parts[3:])
        for new, old in _VAE_ATTENTION:
            rest = rest.replace("attn_1." + new, "attn_1." + old)
    return f"{coder}.{rest}" if coder else rest


def vae_to_ldm(state: dict[str, Any], up_blocks: int) -> dict[str, Any]:
    out = {}
    for key, value in state.items():
        ldm = _vae_key(key, up_blocks)
        if ".mid.attn_1." in ldm and ldm.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]  # the original attention projections are 1x1 convolutions
        out[ldm] = value
    return out


def clip_to_ldm(state: dict[str, Any]) -> dict[str, Any]:
    """transformers CLIPTextModel keys under ``text_model.`` (flattened models, transformers >= 5.6, lack it)."""
    return {(key if key.startswith("text_model.") else f"text_model.{key}"): value for key, value in state.items()}


_OPEN_CLIP = (
    ("self_attn.out_proj.", "attn.out_proj."),
    ("layer_norm1.", "ln_1."),
    ("layer_norm2.", "ln_2."),
    ("mlp.fc1.", "mlp.c_fc."),
    ("mlp.fc2.", "mlp.c_proj."),
)


def open_clip_to_ldm(state: dict[str, Any]) -> dict[str, Any]:
    """A transformers CLIP text model (with or without projection) in OpenCLIP's layout, q/k/v fused."""
    import torch

    state = {key.removeprefix("text_model."): value for key, value in state.items()}
    out: dict[str, Any] = {
        "token_embedding.weight": state.pop("embeddings.token_embedding.weight"),
        "positional_embedding": state.pop("embeddings.position_embedding.weight"),
        "ln_final.weight": state.pop("final_layer_norm.weight"),
        "ln_final.bias": state.pop("final_layer_norm.bias"),
    }
    if "text_projection.weight" in state:
        out["text_projection"] = state.pop("text_projection.weight").T.contiguous()
    layers = sorted({int(key.split(".")[2]) for key in state if key.startswith("encoder.layers.")})
    for n in layers:
        prefix, target = f"encoder.layers.{n}.", f"transformer.resblocks.{n}."
        for suffix in ("weight", "bias"):
            fused = [state.pop(f"{prefix}self_attn.{p}_proj.{suffix}") for p in ("q", "k", "v")]
            out[f"{target}attn.in_proj_{suffix}"] = torch.cat(fused, dim=0)
        for key in [k for k in state if k.startswith(prefix)]:
            rest = key[len(prefix) :]
            for new, old in _OPEN_CLIP:
                rest = rest.replace(new, old)
            out[target + rest] = state.pop(key)
    state.pop("embeddings.position_ids", None)
    if state:
        raise ValueError(f"unmapped text encoder keys: {sorted(state)[:5]}")
    return out


def _prefixed(prefix: str, state: dict[str, Any]) -> dict[str, Any]:
    return {prefix + key: value for key, value in state.items()}


def pipeline_to_ldm(pipeline: Any, arch: Arch) -> dict[str, Any]:
    """The state dict of an SD1/SD2/SDXL pipeline in the original single-file layout."""
    unet = unet_to_ldm(pipeline.unet.state_dict(), pipeline.unet.config.layers_per_block)
    vae = vae_to_ldm(pipeline.vae.state_dict(), len(pipeline.vae.config.up_block_types))
    state = _prefixed("model.diffusion_model.", unet) | _prefixed("first_stage_model.", vae)
    text = {k: v for k, v in pipeline.text_encoder.state_dict().items() if not k.endswith("position_ids")}
    if arch is Arch.SD1:
        return state | _prefixed("cond_stage_model.transformer.", clip_to_ldm(text))
    if arch is Arch.SD2:
        return state | _prefixed("cond_stage_model.model.", open_clip_to_ldm(text))
    if arch is Arch.SDXL:
        second = pipeline.text_encoder_2.state_dict()
        return (
            state
            | _prefixed("conditioner.embedders.0.transformer.", clip_to_ldm(text))
            | _prefixed("conditioner.embedders.1.model.", open_clip_to_ldm(second))
        )
    raise ValueError(f"no single-file layout for {arch.value}")


def save_single_file(pipeline: Any, arch: Arch, target: Path) -> Path:
    """Write ``pipeline`` as one ``.safetensors`` (or, for a ``.ckpt`` target, a torch zip pickle of
    ``{"state_dict": ...}``, as the original training code saved it)."""
    import torch
    from safetensors.torch import save_file

    state = {key: value.detach().contiguous() for key, value in pipeline_to_ldm(pipeline, arch).items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".ckpt":
        torch.save({"state_dict": state, "global_step": 0}, target)
    else:
        save_file(state, str(target))
    return target
