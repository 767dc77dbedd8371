"""The weights dtype per architecture: a pure function of arch, device and the precision setting."""

from __future__ import annotations

import pytest

from models.manager import DevicePolicy, choose_device, model_dtype
from schemas.models import Arch


@pytest.mark.parametrize("arch", [Arch.SD3, Arch.FLUX])
def test_auto_is_bf16_on_cuda_for_sd3_and_flux(arch: Arch) -> None:
    assert model_dtype(arch, "cuda", "auto") == "bfloat16"
    assert model_dtype(arch, "cuda", "auto", bf16_supported=False) == "float16"


@pytest.mark.parametrize("arch", [Arch.SD1, Arch.SD2, Arch.SDXL, Arch.SDXL_REFINER, Arch.UNKNOWN])
def test_auto_is_fp16_on_cuda_for_the_unet_models(arch: Arch) -> None:
    assert model_dtype(arch, "cuda", "auto") == "float16"


@pytest.mark.parametrize(("precision", "dtype"), [("fp16", "float16"), ("bf16", "bfloat16"), ("fp32", "float32")])
def test_an_explicit_precision_wins_on_cuda(precision: str, dtype: str) -> None:
    assert model_dtype(Arch.FLUX, "cuda", precision) == dtype
    assert model_dtype(Arch.SD1, "cuda", precision) == dtype


@pytest.mark.parametrize("precision", ["auto", "fp16", "bf16", "fp32"])
@pytest.mark.parametrize("arch", [Arch.SD1, Arch.FLUX])
def test_the_cpu_is_always_fp32(arch: Arch, precision: str) -> None:
    assert model_dtype(arch, "cpu", precision) == "float32"


def test_the_policy_applies_it_per_architecture() -> None:
    policy = DevicePolicy("cuda", "float16", precision="auto", bf16_supported=True)
    assert (policy.dtype_for(Arch.SDXL), policy.dtype_for(Arch.SD3)) == ("float16", "bfloat16")
    assert choose_device("cpu").dtype_for(Arch.FLUX) == "float32"
