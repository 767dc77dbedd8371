"""The model manager and txt2img on the tiny model, in-process (real diffusers, real weights on disk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.device import choose_device
from models.generate import run_generation as run_txt2img
from models.manager import ModelManager
from models.registry import ModelRegistry
from schemas.errors import ModelLoadFailed
from schemas.generation import Sampler, Txt2ImgRequest


@pytest.fixture(scope="module")
def manager(models_dir: Path) -> ModelManager:
    return ModelManager(ModelRegistry(models_dir), choose_device("cpu"))


def test_cpu_policy_is_fp32() -> None:
    assert choose_device("cpu").describe() == "cpu/float32"


def test_model_is_loaded_once_and_kept_resident(manager: ModelManager) -> None:
    first = manager.get("tiny")
    assert manager.get("tiny") is first
    assert manager.loaded == ["tiny"]


def test_corrupt_model_raises_model_load_failed_without_absolute_paths(manager: ModelManager, models_dir: Path) -> None:
    with pytest.raises(ModelLoadFailed) as info:
        manager.get("broken")
    assert "broken" in info.value.detail
    assert str(models_dir) not in info.value.detail


@pytest.mark.parametrize("sampler", list(Sampler))
def test_every_sampler_generates_and_reports_each_step(manager: ModelManager, sampler: Sampler) -> None:
    request = Txt2ImgRequest(prompt="a boat", width=64, height=64, steps=3, sampler=sampler)
    steps: list[tuple[int, int]] = []
    images = run_txt2img(manager.get("tiny"), request, [5, 6], lambda done, total: steps.append((done, total)))
    assert [im.size for im in images] == [(64, 64), (64, 64)]
    assert steps[-1][0] == steps[-1][1] >= 3
    assert [done for done, _ in steps] == list(range(1, len(steps) + 1))
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))


def test_jobs_do_not_leak_scheduler_settings(manager: ModelManager) -> None:
    """A karras job must not change the scheduler later jobs start from (the base pipeline is untouched)."""
    base = manager.get("tiny")
    before = dict(base.scheduler.config)
    request = Txt2ImgRequest(prompt="x", width=64, height=64, steps=2, sampler=Sampler.DPMPP_2M, scheduler="karras")
    run_txt2img(base, request, [1], lambda *_: None)
    assert dict(base.scheduler.config) == before
