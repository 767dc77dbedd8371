"""The worker's model manager: loads checkpoints by name and keeps them resident in an LRU under a memory budget.

Device policy: CUDA with fp16 when available (or asked for), else CPU with fp32; ``precision=auto`` picks bf16 on
CUDA for SD3 and Flux (see :func:`model_dtype`). Diffusers folders and hub ids load with ``from_pretrained``,
single files with ``from_single_file`` and a shipped config folder (``models.single_file``). The budget is
``SDQ_MODEL_MEMORY_MB`` (unset: 90 % of the GPU's memory on CUDA, half the RAM on CPU); a model's size is its
parameter bytes once loaded (before loading, the size of its files on disk). Loading a model that does not fit
evicts the least recently used ones first; the model just loaded is never evicted.

ControlNets are cached beside the checkpoints: the last ``MAX_RESIDENT_CONTROLNETS`` used stay on the device, their
bytes count in ``used_bytes``, and loading one evicts least recently used checkpoints (never the newest) to fit.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.registry import Checkpoint, ModelRegistry
from models.single_file import ConfigFolders, load_single_file
from schemas.errors import ModelLoadFailed
from schemas.models import Arch, ModelType
from schemas.settings import Settings

log = logging.getLogger(__name__)

MAX_RESIDENT_CONTROLNETS = 4  # as many as one request may use


@dataclass(frozen=True)
class DevicePolicy:
    """Where and how pipelines run. Built by :func:`choose_device`; ``effective`` is what is really applied."""

    device: str
    dtype_name: str
    attention: str = "sdpa"
    attention_slicing: bool = False
    vae_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: str = "none"
    channels_last: bool = False
    torch_compile: bool = False
    notes: tuple[str, ...] = ()
    precision: str = "auto"
    bf16_supported: bool = False

    def describe(self) -> str:
        return f"{self.device}/{self.dtype_name}"

    def dtype_for(self, arch: Arch) -> str:
        """The dtype a model of ``arch`` loads in under this policy."""
        return model_dtype(arch, self.device, self.precision, self.bf16_supported)

    @property
    def effective(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "dtype": self.dtype_name,
            "attention": self.attention,
            "attention_slicing": self.attention_slicing,
            "vae_slicing": self.vae_slicing,
            "vae_tiling": self.vae_tiling,
            "cpu_offload": self.cpu_offload,
            "channels_last": self.channels_last,
            "torch_compile": self.torch_compile,
            "precision": self.precision,
            "notes": list(self.notes),
        }


CKPT_HINT = (
    " (.ckpt files are read with torch.load(weights_only=True), which refuses pickles that need classes other than"
    " tensors and containers; convert the file to .safetensors)"
)
_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
BF16_ARCHS = frozenset({Arch.SD3, Arch.FLUX})


def model_dtype(arch: Arch, device: str, precision: str, bf16_supported: bool = True) -> str:
    """The weights dtype for a model: fp32 on the CPU; on CUDA an explicit precision as set, and ``auto`` = bf16 for
    SD3 and Flux (trained in bf16; their activations overflow fp16) where the GPU has bf16, fp16 otherwise."""
    if device != "cuda":
        return "float32"
    if precision in _DTYPES:
        return _DTYPES[precision]
    return "bfloat16" if arch in BF16_ARCHS and bf16_supported else "float16"


def _xformers_available() -> bool:
    try:
        import xformers  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def choose_device(preference: str, settings: Settings | None = None) -> DevicePolicy:
    """Device and dtype (``auto``: CUDA fp16 when available, else CPU fp32; ``cuda`` without CUDA is an error;
    ``dtype_name`` is the SD1/SD2/SDXL dtype, :meth:`DevicePolicy.dtype_for` the one per architecture), plus the
    memory and speed options of ``settings`` that can apply on that device."""
    import torch

    has_cuda = torch.cuda.is_available()
    if preference == "cuda" and not has_cuda:
        raise RuntimeError("SDQ_DEVICE=cuda but torch sees no CUDA device")
    device = "cuda" if preference in ("auto", "cuda") and has_cuda else "cpu"
    precision = settings.precision if settings else "auto"
    bf16 = bool(device == "cuda" and torch.cuda.is_bf16_supported())
    dtype = model_dtype(Arch.SD1, device, precision, bf16)
    notes: list[str] = []
    if device == "cpu" and precision in ("fp16", "bf16"):
        notes.append(f"{precision} on CPU is slow or unsupported; using fp32")
    if device == "cuda" and precision == "auto":
        notes.append("auto precision: bf16 for sd3/flux" if bf16 else "no bf16 on this GPU: sd3/flux load in fp16")
    if settings is None:
        return DevicePolicy(device, dtype, bf16_supported=bf16)
    attention = settings.attention
    if attention == "xformers" and (device != "cuda" or not _xformers_available()):
        notes.append("xformers needs CUDA and the cuda extra; using sdpa")
        attention = "sdpa"
    offload, channels_last = settings.cpu_offload, settings.channels_last
    if device != "cuda" and (offload != "none" or channels_last):
        notes.append("cpu_offload and channels_last apply on CUDA only")
        offload, channels_last = "none", False
    return DevicePolicy(
        device,
        dtype,
        attention,
        settings.attention_slicing,
        settings.vae_slicing,
        settings.vae_tiling,
        offload,
        channels_last,
        settings.torch_compile,
        tuple(notes),
        precision,
        bf16,
    )


def apply_policy(pipeline: Any, policy: DevicePolicy) -> None:
    """Put a freshly loaded pipeline on its device with the policy's memory and speed options."""
    import torch

    if policy.cpu_offload == "model":
        pipeline.enable_model_cpu_offload()
    elif policy.cpu_offload == "sequential":
        pipeline.enable_sequential_cpu_offload()
    else:
        pipeline.to(policy.device)
    if policy.attention == "xformers":
        pipeline.enable_xformers_memory_efficient_attention()
    if policy.attention_slicing:
        pipeline.enable_attention_slicing()
    vae = getattr(pipeline, "vae", None)
    if vae is not None and policy.vae_slicing:
        vae.enable_slicing()
    if vae is not None and policy.vae_tiling:
        vae.enable_tiling()
    unet = getattr(pipeline, "unet", None)
    if unet is not None and policy.channels_last:
        unet.to(memory_format=torch.channels_last)
    if unet is not None and policy.torch_compile:
        pipeline.unet = torch.compile(unet)


def default_budget(policy: DevicePolicy) -> int:
    if policy.device == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(0).total_memory * 0.9)
    import psutil

    return int(psutil.virtual_memory().total * 0.5)


def parameter_bytes(pipeline: Any) -> int:
    total = 0
    for component in pipeline.components.values():
        if hasattr(component, "parameters"):
            total += sum(p.numel() * p.element_size() for p in component.parameters())
    return total


@dataclass
class ManagerStats:
    loads: int = 0
    hits: int = 0
    evictions: int = 0
    load_seconds_total: float = 0.0
    last_load_seconds: float | None = None
    events: list[str] = field(default_factory=list)  # the last few loads/evictions, newest last


class ModelManager:
    def __init__(
        self,
        registry: ModelRegistry,
        policy: DevicePolicy,
        budget_bytes: int | None = None,
        configs: ConfigFolders | None = None,
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.configs = configs or ConfigFolders()
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget(policy)
        self._resident: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._vaes: dict[str, Any] = {}
        self._upscalers: dict[str, Any] = {}
        self.on_load: Callable[[str, float], None] | None = None  # (model, seconds): the worker's metrics
        self._controlnets: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.stats = ManagerStats()

    @property
    def loaded(self) -> list[str]:
        return list(self._resident)

    @property
    def used_bytes(self) -> int:
        return sum(size for _, size in (*self._resident.values(), *self._controlnets.values()))

    def is_loaded(self, name: str) -> bool:
        return name in self._resident

    def get(self, name: str) -> Any:
        """The resident pipeline for ``name``, loading it (and evicting others to fit) when needed."""
        if name in self._resident:
            self._resident.move_to_end(name)
            self.stats.hits += 1
            return self._resident[name][0]
        entry = self.registry.find_checkpoint_entry(name)
        self._make_room(entry.size_bytes, keep=None)
        started = time.perf_counter()
        pipeline = self._load(name)
        seconds = time.perf_counter() - started
        size = parameter_bytes(pipeline)
        self._resident[name] = (pipeline, size)
        self._make_room(0, keep=name)
        self.stats.loads += 1
        self.stats.load_seconds_total += seconds
        self.stats.last_load_seconds = round(seconds, 4)
        self._note(f"load {name} {seconds:.3f}s {size}B")
        if self.on_load is not None:
            self.on_load(name, seconds)
        log.info(
            "loaded model %s in %.2f s (%d MB resident of %d MB)",
            name,
            seconds,
            self.used_bytes >> 20,
            self.budget_bytes >> 20,
        )
        return pipeline

    def get_vae(self, name: str) -> Any:
        """A VAE from models/vae/<name> (diffusers folder), cached; on the pipelines' device and dtype."""
        cached = self._vaes.get(name)
        if cached is not None:
            return cached
        import torch
        from diffusers import AutoencoderKL

        entry = self.registry.find(ModelType.VAE, name, "vae")
        try:
            vae = AutoencoderKL.from_pretrained(
                str(self.registry.models_dir / entry.path),
                dtype=getattr(torch, self.policy.dtype_name),
                local_files_only=True,
            ).to(self.policy.device)
        except Exception as exc:
            raise ModelLoadFailed(f"VAE {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
        self._vaes = {name: vae}  # one override VAE resident at a time
        return vae

    def get_upscaler(self, name: str, field: str = "upscaler") -> Any:
        """A model from models/upscalers/ (spandrel descriptor), cached; one resident at a time, like VAEs."""
        cached = self._upscalers.get(name)
        if cached is not None:
            return cached
        from models.upscale import load_upscaler

        entry = self.registry.find(ModelType.UPSCALER, name, field)
        started = time.perf_counter()
        try:
            path = self.registry.models_dir / entry.path
            descriptor = load_upscaler(path, self.policy.device, self.policy.dtype_name)
        except Exception as exc:
            raise ModelLoadFailed(f"upscaler {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
        self._note(f"load upscaler {name} {time.perf_counter() - started:.3f}s")
        self._upscalers = {name: descriptor}
        return descriptor

    def get_controlnet(self, name: str) -> Any:
        """A ControlNet from models/controlnet/<name> (diffusers folder) on the pipelines' device and dtype, cached."""
        if name in self._controlnets:
            self._controlnets.move_to_end(name)
            self.stats.hits += 1
            return self._controlnets[name][0]
        import torch
        from diffusers import ControlNetModel

        entry = self.registry.find(ModelType.CONTROLNET, name, "controlnets")
        started = time.perf_counter()
        try:
            controlnet = ControlNetModel.from_pretrained(
                str(self.registry.models_dir / entry.path),
                dtype=getattr(torch, self.policy.dtype_name),
                local_files_only=True,
            ).to(self.policy.device)
        except Exception as exc:
            reason = str(exc).replace(str(self.registry.models_dir), "models")
            raise ModelLoadFailed(f"ControlNet {name!r} failed to load: {type(exc).__name__}: {reason}") from exc
        seconds = time.perf_counter() - started
        size = sum(p.numel() * p.element_size() for p in controlnet.parameters())
        self._controlnets[name] = (controlnet, size)
        while len(self._controlnets) > MAX_RESIDENT_CONTROLNETS:
            victim, _ = self._controlnets.popitem(last=False)
            self.stats.evictions += 1
            self._note(f"evict controlnet:{victim}")
        self.stats.loads += 1
        self.stats.load_seconds_total += seconds
        self._note(f"load controlnet:{name} {seconds:.3f}s {size}B")
        log.info("loaded ControlNet %s in %.2f s", name, seconds)
        self._make_room(0, keep=next(reversed(self._resident), None))  # the newest checkpoint is the job's
        return controlnet

    def unload(self, name: str) -> bool:
        if name not in self._resident:
            return False
        del self._resident[name]
        self._release()
        self._note(f"unload {name}")
        return True

    def unload_all(self) -> None:
        for name in list(self._resident):
            self.unload(name)
        self._controlnets.clear()
        self._release()

    def gpu_status(self) -> dict[str, Any]:
        """GPU memory in use and utilisation (NVML, when pynvml is installed) on CUDA; empty elsewhere."""
        if self.policy.device != "cuda":
            return {}
        import torch

        free, total = torch.cuda.mem_get_info()
        status: dict[str, Any] = {"memory_used_bytes": total - free, "memory_total_bytes": total}
        try:
            status["utilization"] = torch.cuda.utilization() / 100
        except Exception:  # no NVML bindings: memory only
            status["utilization"] = None
        return status

    def _make_room(self, incoming: int, keep: str | None) -> None:
        while self._resident and self.used_bytes + incoming > self.budget_bytes:
            victim = next(iter(self._resident))
            if victim == keep:
                if len(self._resident) == 1:
                    return
                self._resident.move_to_end(victim)
                victim = next(iter(self._resident))
            del self._resident[victim]
            self.stats.evictions += 1
            self._note(f"evict {victim}")
            log.info("evicted model %s to stay within %d MB", victim, self.budget_bytes >> 20)
            self._release()

    def _release(self) -> None:
        gc.collect()
        if self.policy.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    def _note(self, event: str) -> None:
        self.stats.events = [*self.stats.events[-19:], event]

    def _load(self, name: str) -> Any:
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
        checkpoint = self.registry.checkpoint(name)
        log.info("loading model %s on %s", name, self.policy.describe())
        try:
            pipeline = self._from_files(checkpoint)
            apply_policy(pipeline, self.policy)
        except Exception as exc:
            reason = str(exc).replace(str(checkpoint.path), f"checkpoints/{checkpoint.path.name}")
            if checkpoint.format == "ckpt":
                reason += CKPT_HINT
            raise ModelLoadFailed(f"model {name!r} failed to load: {type(exc).__name__}: {reason}") from exc
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _from_files(self, checkpoint: Checkpoint) -> Any:
        import torch
        from diffusers import DiffusionPipeline

        dtype = getattr(torch, self.policy.dtype_for(checkpoint.arch))
        if checkpoint.is_single_file:
            return load_single_file(
                checkpoint.path, checkpoint.arch, self.configs, dtype, checkpoint.inpaint, checkpoint.prediction
            )
        extra: dict[str, Any] = {}
        if checkpoint.has_safety_checker:
            # The image safety checker is optional and configured separately (issue #7).
            extra.update(safety_checker=None, requires_safety_checker=False)
        return DiffusionPipeline.from_pretrained(
            str(checkpoint.path), dtype=dtype, local_files_only=checkpoint.format != "hub", **extra
        )
