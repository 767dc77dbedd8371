"""The worker's model manager: loads checkpoints by name and keeps them resident in an LRU under a memory budget.

The device policy (``models.device``) says where and in which dtype. Diffusers folders and hub ids load with
``from_pretrained``, single files with ``from_single_file`` and a shipped config folder (``models.single_file``). The
budget is
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

from models.clip_compat import restore_text_model_path
from models.device import DevicePolicy, apply_policy, default_budget
from models.registry import Checkpoint, ModelRegistry
from models.single_file import ConfigFolders, load_single_file
from schemas.errors import ModelLoadFailed
from schemas.models import ModelType

log = logging.getLogger(__name__)

MAX_RESIDENT_CONTROLNETS = 4  # as many as one request may use


CKPT_HINT = (
    " (.ckpt files are read with torch.load(weights_only=True), which refuses pickles that need classes other than"
    " tensors and containers; convert the file to .safetensors)"
)


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
        from diffusers import AutoencoderKL

        entry = self.registry.find(ModelType.VAE, name, "vae")
        vae = self._load_part("VAE", name, lambda: self._component(AutoencoderKL, entry.path))
        self._vaes = {name: vae}  # one override VAE resident at a time
        return vae

    def _component(self, kind: Any, relative: str) -> Any:
        """A diffusers model folder under models/ on the policy's device and dtype, from local files only."""
        import torch

        return kind.from_pretrained(
            str(self.registry.models_dir / relative),
            dtype=getattr(torch, self.policy.dtype_name),
            local_files_only=True,
        ).to(self.policy.device)

    def _load_part(self, what: str, name: str, load: Callable[[], Any]) -> Any:
        """``load()``, with any failure as ModelLoadFailed naming the part (paths shown relative to models/)."""
        try:
            return load()
        except Exception as exc:
            reason = str(exc).replace(str(self.registry.models_dir), "models")
            raise ModelLoadFailed(f"{what} {name!r} failed to load: {type(exc).__name__}: {reason}") from exc

    def get_upscaler(self, name: str, field: str = "upscaler") -> Any:
        """A model from models/upscalers/ (spandrel descriptor), cached; one resident at a time, like VAEs."""
        cached = self._upscalers.get(name)
        if cached is not None:
            return cached
        from models.upscale import load_upscaler

        entry = self.registry.find(ModelType.UPSCALER, name, field)
        started = time.perf_counter()
        path = self.registry.models_dir / entry.path
        descriptor = self._load_part(
            "upscaler", name, lambda: load_upscaler(path, self.policy.device, self.policy.dtype_name)
        )
        self._note(f"load upscaler {name} {time.perf_counter() - started:.3f}s")
        self._upscalers = {name: descriptor}
        return descriptor

    def get_controlnet(self, name: str) -> Any:
        """A ControlNet from models/controlnet/<name> (diffusers folder) on the pipelines' device and dtype, cached."""
        if name in self._controlnets:
            self._controlnets.move_to_end(name)
            self.stats.hits += 1
            return self._controlnets[name][0]
        from diffusers import ControlNetModel

        entry = self.registry.find(ModelType.CONTROLNET, name, "controlnets")
        started = time.perf_counter()
        controlnet = self._load_part("ControlNet", name, lambda: self._component(ControlNetModel, entry.path))
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

    def gpu_status(self) -> dict[str, Any]:
        """The GPU's name and index, memory in use and utilisation (NVML, when pynvml is installed) on CUDA; empty
        elsewhere."""
        if self.policy.device != "cuda":
            return {}
        import torch

        index = torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info()
        status: dict[str, Any] = {
            "name": torch.cuda.get_device_name(index),
            "index": index,
            "memory_used_bytes": total - free,
            "memory_total_bytes": total,
        }
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
            restore_text_model_path(pipeline)
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
