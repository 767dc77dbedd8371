"""The AUTOMATIC1111 API's read-only lists and stubs: upscalers, VAEs, LoRAs, embeddings, styles, memory, flags,
scripts, and the ControlNet extension's model, module and version lists (docs/clients.md).

Every list is read from the model registry (the models folder), so what a client offers is what sdqueue can run.
"""

from __future__ import annotations

from typing import Any

import psutil
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from models.registry import ModelRegistry
from schemas.models import ModelEntry, ModelType
from schemas.requests import RESAMPLERS
from schemas.upscalers import factor_from_name
from server.compat.a1111_controlnet import CONTROLNET_MODULES
from server.compat.credentials import CompatReadModels

router = APIRouter(prefix="/sdapi/v1", tags=["automatic1111"])
controlnet_router = APIRouter(prefix="/controlnet", tags=["automatic1111"])

LATENT_UPSCALE_MODES = ("Latent", "Latent (antialiased)", "Latent (bicubic)", "Latent (nearest)")
CONTROLNET_VERSION = 2


async def entries_of(http: Request, kind: ModelType) -> list[ModelEntry]:
    """The valid installed entries of ``kind``, rescanned, sorted by name."""
    registry: ModelRegistry = http.app.state.registry
    entries = await run_in_threadpool(registry.refresh)
    return sorted((e for e in entries if e.type is kind and e.status == "valid"), key=lambda e: e.name.lower())


@router.get("/upscalers", summary="A1111: upscalers (None, the resamplers, the models in models/upscalers/)")
async def upscalers(principal: CompatReadModels, http: Request) -> list[dict[str, Any]]:
    builtin = [{"name": "None", "model_name": None, "model_path": None, "model_url": None, "scale": 1}]
    builtin += [
        {"name": name.capitalize(), "model_name": None, "model_path": None, "model_url": None, "scale": 4}
        for name in RESAMPLERS
    ]
    models = [
        {
            "name": e.name,
            "model_name": e.name,
            "model_path": e.path,
            "model_url": None,
            "scale": factor_from_name(e.name) or 4,
        }
        for e in await entries_of(http, ModelType.UPSCALER)
    ]
    return builtin + models


@router.get("/latent-upscale-modes", summary="A1111: latent hires modes (all run as Lanczos in sdqueue)")
async def latent_upscale_modes(principal: CompatReadModels) -> list[dict[str, str]]:
    return [{"name": name} for name in LATENT_UPSCALE_MODES]


@router.get("/sd-vae", summary="A1111: VAEs in models/vae/")
async def sd_vae(principal: CompatReadModels, http: Request) -> list[dict[str, Any]]:
    return [{"model_name": e.name, "filename": e.path} for e in await entries_of(http, ModelType.VAE)]


@router.get("/loras", summary="A1111: LoRAs in models/lora/ (use them as <lora:name:weight> in the prompt)")
async def loras(principal: CompatReadModels, http: Request) -> list[dict[str, Any]]:
    return [
        {"name": e.name, "alias": e.name, "path": e.path, "metadata": {}}
        for e in await entries_of(http, ModelType.LORA)
    ]


@router.post("/refresh-loras", summary="A1111: rescan the LoRAs (the registry rescans on every list)")
async def refresh_loras(principal: CompatReadModels, http: Request) -> None:
    await entries_of(http, ModelType.LORA)


@router.get("/embeddings", summary="A1111: textual inversions in models/embeddings/")
async def embeddings(principal: CompatReadModels, http: Request) -> dict[str, Any]:
    loaded = {
        e.name: {"step": None, "sd_checkpoint": None, "sd_checkpoint_name": None, "shape": None, "vectors": None}
        for e in await entries_of(http, ModelType.EMBEDDING)
    }
    return {"loaded": loaded, "skipped": {}}


@router.get("/prompt-styles", summary="A1111: saved styles (sdqueue keeps none: an empty list)")
async def prompt_styles(principal: CompatReadModels) -> list[dict[str, str]]:
    return []


@router.post("/refresh-checkpoints", summary="A1111: rescan the checkpoints")
async def refresh_checkpoints(principal: CompatReadModels, http: Request) -> None:
    await entries_of(http, ModelType.CHECKPOINT)


@router.post("/refresh-vae", summary="A1111: rescan the VAEs")
async def refresh_vae(principal: CompatReadModels, http: Request) -> None:
    await entries_of(http, ModelType.VAE)


def _ram() -> dict[str, int]:
    memory = psutil.virtual_memory()
    return {"free": memory.available, "used": memory.total - memory.available, "total": memory.total}


@router.get("/memory", summary="A1111: the API host's RAM; GPU memory lives in the workers (GET /api/v1/system)")
async def memory(principal: CompatReadModels) -> dict[str, Any]:
    return {"ram": await run_in_threadpool(_ram), "cuda": {"error": "the API process runs no model; see the workers"}}


@router.get("/cmd-flags", summary="A1111: command-line flags, as sdqueue's equivalents (no paths, no secrets)")
async def cmd_flags(principal: CompatReadModels, http: Request) -> dict[str, Any]:
    settings = http.app.state.settings
    return {
        "api": True,
        "nowebui": False,
        "api_auth": None,
        "listen": settings.host not in ("127.0.0.1", "localhost", "::1"),
        "port": settings.port,
        "ckpt_dir": "checkpoints",
        "lora_dir": "lora",
        "vae_dir": "vae",
        "embeddings_dir": "embeddings",
        "controlnet_dir": "controlnet",
    }


@router.get("/scripts", summary="A1111: scripts (none); ControlNet is an always-on script")
async def scripts(principal: CompatReadModels) -> dict[str, list[str]]:
    # the ControlNet extension registers both; webuiapi looks for "controlnet m2m" to know the extension is there
    return {"txt2img": ["controlnet", "controlnet m2m"], "img2img": ["controlnet", "controlnet m2m"]}


@controlnet_router.get("/model_list", summary="A1111 ControlNet extension: ControlNets in models/controlnet/")
async def controlnet_models(principal: CompatReadModels, http: Request) -> dict[str, list[str]]:
    return {"model_list": [e.name for e in await entries_of(http, ModelType.CONTROLNET)]}


@controlnet_router.get("/module_list", summary="A1111 ControlNet extension: preprocessors (none, canny)")
async def controlnet_modules(principal: CompatReadModels) -> dict[str, Any]:
    return {"module_list": list(CONTROLNET_MODULES), "module_detail": {}}


@controlnet_router.get("/version", summary="A1111 ControlNet extension: API version")
async def controlnet_version(principal: CompatReadModels) -> dict[str, int]:
    return {"version": CONTROLNET_VERSION}
