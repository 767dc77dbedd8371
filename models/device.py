"""Device and precision policy: where pipelines run and in which dtype, with which memory and speed options.

``auto``: CUDA with fp16 when available (bf16 for SD3 and Flux, :func:`model_dtype`), else CPU with fp32. The
options of ``Settings`` that cannot apply on the chosen device are turned off with a note, and
:attr:`DevicePolicy.effective` is what is really applied (reported in the worker's heartbeat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.models import Arch
from schemas.settings import Settings


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
    index: int | None = None  # the CUDA device (made torch's current device) when ``cuda:N`` was asked for

    @property
    def device_name(self) -> str:
        """``cpu``, ``cuda`` or ``cuda:N``."""
        return self.device if self.index is None else f"{self.device}:{self.index}"

    def describe(self) -> str:
        return f"{self.device_name}/{self.dtype_name}"

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
    preference, _, wanted = preference.partition(":")
    if preference == "cuda" and not has_cuda:
        raise RuntimeError("SDQ_DEVICE=cuda but torch sees no CUDA device")
    index = select_cuda_device(int(wanted)) if wanted else None
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
        return DevicePolicy(device, dtype, bf16_supported=bf16, index=index)
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
        index,
    )


def select_cuda_device(index: int) -> int:
    """Make CUDA device ``index`` torch's current one, so every ``"cuda"`` tensor of this process lands there
    (one worker per GPU: ``SDQ_DEVICE=cuda:N``)."""
    import torch

    count = torch.cuda.device_count()
    if index >= count:
        raise RuntimeError(f"SDQ_DEVICE=cuda:{index} but torch sees {count} CUDA device(s)")
    torch.cuda.set_device(index)
    return index


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
