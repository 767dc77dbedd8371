"""The model manager and txt2img on the tiny model, in-process (real diffusers, real weights on disk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.device import choose_device
from models.generate import run_generation as run_txt2img
from models.manager import ModelManager
from models.registry import ModelRegistry
from schemas.errors import ModelLoadFailed
from schemas.requests import InpaintRequest, Sampler, Txt2ImgRequest


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


def test_the_tiny_inpainting_checkpoint_is_detected_and_derives_the_sd_inpaint_pipeline(
    manager: ModelManager, models_dir: Path
) -> None:
    from diffusers import AutoPipelineForInpainting, StableDiffusionInpaintPipeline

    entry = ModelRegistry(models_dir).find_checkpoint_entry("tiny-inpaint")
    assert entry.inpaint is True and entry.arch.value == "sd1"
    assert ModelRegistry(models_dir).find_checkpoint_entry("tiny").inpaint is False
    base = manager.get("tiny-inpaint")
    assert base.unet.config.in_channels == 9
    derived = AutoPipelineForInpainting.from_pipe(base)
    assert type(derived) is StableDiffusionInpaintPipeline
    assert derived.unet is base.unet  # shared weights, no reload


@pytest.mark.parametrize("model", ["tiny", "tiny-inpaint"])
def test_inpaint_only_masked_in_process(manager: ModelManager, model: str) -> None:
    """The box around the mask is repainted at width x height and pasted back: the output keeps the image's size
    (not a multiple of 8 here), pixels outside the mask are the input's, the masked ones change."""
    rng = np.random.default_rng(11)
    image = Image.fromarray(rng.integers(0, 255, (90, 150, 3), dtype=np.uint8), "RGB")
    mask = Image.new("L", (150, 90), 0)
    mask.paste(255, (100, 20, 130, 60))
    request = InpaintRequest(
        prompt="a window", image="upl_a", mask="upl_b", width=64, height=64, steps=2, strength=1.0,
        inpaint_full_res=True, inpaint_full_res_padding=8,
    )  # fmt: skip
    images = run_txt2img(manager.get(model), request, [3], lambda *_: None, inputs={"image": image, "mask": mask})
    assert images[0].size == (150, 90)
    before, after, selected = np.asarray(image).astype(int), np.asarray(images[0]).astype(int), np.asarray(mask) > 0
    assert np.array_equal(after[~selected], before[~selected])
    assert np.abs(after[selected] - before[selected]).mean() > 5


def test_at_least_one_denoising_step_survives_float_rounding() -> None:
    from models.generate import at_least_one_step

    assert at_least_one_step(20, 0.75) == 20  # enough already: unchanged
    assert at_least_one_step(10, None) == 10
    for steps, strength in [(1, 0.5), (2, 0.3), (1, 1 / 3), (1, 0.01), (3, 0.1)]:
        chosen = at_least_one_step(steps, strength)
        assert int(chosen * strength) == 1, (steps, strength, chosen)
