"""ControlNets in-process: detection of the tiny ones, the manager's cache, and generation with one or several
(real diffusers, the tiny model and tiny ControlNets from the session's models folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from models.device import choose_device
from models.generate import LoraFile, RunOptions, run_generation
from models.manager import ModelManager
from models.registry import ModelRegistry
from schemas.errors import ModelNotFound
from schemas.models import Arch, ModelType
from schemas.requests import ControlNetRequest, Txt2ImgRequest, control_image_field


@pytest.fixture(scope="module")
def manager(models_dir: Path) -> ModelManager:
    return ModelManager(ModelRegistry(models_dir), choose_device("cpu"))


def square(size: int = 64, fill: str = "white") -> Image.Image:
    image = Image.new("RGB", (size, size))
    ImageDraw.Draw(image).rectangle((size // 4, size // 4, 3 * size // 4 - 1, 3 * size // 4 - 1), fill=fill)
    return image


def make_request(units: int = 1, **overrides: Any) -> ControlNetRequest:
    unit = {"controlnet": "tiny-cn", "control_image": "unused: the inputs dict holds the image"}
    fields: dict[str, Any] = {"prompt": "a house", "width": 64, "height": 64, "steps": 2}
    fields["controlnets"] = [{**unit, **overrides.pop("unit", {})} for _ in range(units)]
    fields.update(overrides)
    return ControlNetRequest.model_validate(fields)


def generate(manager: ModelManager, request: ControlNetRequest, controls: list[Image.Image], **inputs: Any) -> Any:
    images = {control_image_field(index): control for index, control in enumerate(controls)}
    nets = [manager.get_controlnet(unit.controlnet) for unit in request.controlnets]
    result = run_generation(
        manager.get("tiny"), request, [3], lambda *_: None, {**images, **inputs}, RunOptions(controlnets=nets)
    )
    return np.asarray(result[0]).astype(int)


def test_tiny_controlnets_are_detected_as_sd1_controlnets(models_dir: Path) -> None:
    entries = {e.id: e for e in ModelRegistry(models_dir).refresh()}
    for name in ("tiny-cn", "tiny-cn-2"):
        entry = entries[f"controlnet:{name}"]
        assert (entry.type, entry.arch, entry.format, entry.status) == (
            ModelType.CONTROLNET,
            Arch.SD1,
            "diffusers",
            "valid",
        )


@pytest.mark.parametrize(
    ("config", "arch"),
    [
        ({"cross_attention_dim": 768}, Arch.SD1),
        ({"cross_attention_dim": 1024}, Arch.SD2),
        ({"cross_attention_dim": 2048, "addition_embed_type": "text_time"}, Arch.SDXL),
        ({"cross_attention_dim": 64, "addition_embed_type": "text_time"}, Arch.SDXL),
    ],
)
def test_controlnet_family_comes_from_its_config(tmp_path: Path, config: dict[str, Any], arch: Arch) -> None:
    folder = tmp_path / "controlnet" / "net"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"_class_name": "ControlNetModel", **config}))
    entry = ModelRegistry(tmp_path).find(ModelType.CONTROLNET, "net", "controlnet")
    assert entry.arch is arch


def test_controlnets_are_loaded_once_and_counted_in_memory(manager: ModelManager) -> None:
    before = manager.used_bytes
    first = manager.get_controlnet("tiny-cn")
    assert manager.get_controlnet("tiny-cn") is first
    assert next(first.parameters()).dtype.is_floating_point and first.device.type == "cpu"
    assert manager.used_bytes >= before
    with pytest.raises(ModelNotFound) as info:
        manager.get_controlnet("no-such-net")
    assert "tiny-cn" in info.value.errors[0].msg


def test_scale_zero_is_exactly_the_base_model_and_the_control_image_steers_at_scale_one(manager: ModelManager) -> None:
    plain = run_generation(
        manager.get("tiny"), Txt2ImgRequest(prompt="a house", width=64, height=64, steps=2), [3], lambda *_: None
    )
    blank = Image.new("RGB", (64, 64))
    off = make_request(unit={"conditioning_scale": 0.0})
    assert np.array_equal(generate(manager, off, [square()]), np.asarray(plain[0]).astype(int))
    assert np.array_equal(generate(manager, off, [square()]), generate(manager, off, [blank]))
    on = make_request()
    with_square, again = generate(manager, on, [square()]), generate(manager, on, [square()])
    assert np.array_equal(with_square, again)
    assert np.abs(with_square - generate(manager, on, [blank])).mean() > 1


def test_guidance_window_limits_the_steps_it_applies_to(manager: ModelManager) -> None:
    full = generate(manager, make_request(steps=4), [square()])
    late = generate(manager, make_request(steps=4, unit={"guidance_start": 0.5}), [square()])
    assert not np.array_equal(full, late)


def test_two_controlnets_run_together_and_each_counts(manager: ModelManager) -> None:
    request = make_request(
        controlnets=[
            {"controlnet": "tiny-cn", "control_image": "x"},
            {"controlnet": "tiny-cn-2", "control_image": "x", "conditioning_scale": 0.5},
        ]
    )
    both = generate(manager, request, [square(), square(fill="grey")])
    first_only = generate(manager, make_request(), [square()])
    assert both.shape == (64, 64, 3)
    assert not np.array_equal(both, first_only)
    second_off = request.model_copy(
        update={
            "controlnets": [
                request.controlnets[0],
                request.controlnets[1].model_copy(update={"conditioning_scale": 0.0}),
            ]
        }
    )
    assert np.array_equal(generate(manager, second_off, [square(), square(fill="grey")]), first_only)


def test_controlnet_img2img_keeps_the_init_image_size_and_strength_zero_returns_it(manager: ModelManager) -> None:
    init = Image.new("RGB", (96, 64), "teal")
    request = make_request(init_image="x", strength=0.5, width=96, height=64, steps=4)
    steps: list[tuple[int, int]] = []
    nets = [manager.get_controlnet("tiny-cn")]
    inputs = {"init_image": init, control_image_field(0): square().resize((96, 64))}
    images = run_generation(
        manager.get("tiny"), request, [1, 2], lambda *step: steps.append(step), inputs, RunOptions(controlnets=nets)
    )
    assert [image.size for image in images] == [(96, 64), (96, 64)]
    assert steps[-1] == (2, 2)  # strength 0.5 of 4 steps
    unchanged = run_generation(
        manager.get("tiny"),
        request.model_copy(update={"strength": 0.0}),
        [1],
        lambda *_: None,
        inputs=inputs,
        options=RunOptions(controlnets=nets),
    )
    assert np.array_equal(np.asarray(unchanged[0]), np.asarray(init))


def test_a_step_callback_that_raises_aborts_a_controlnet_run(manager: ModelManager) -> None:
    class Stop(Exception):
        pass

    def stop_at_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    nets = [manager.get_controlnet("tiny-cn")]
    with pytest.raises(Stop):
        run_generation(
            manager.get("tiny"),
            make_request(steps=5),
            [1],
            stop_at_two,
            inputs={control_image_field(0): square()},
            options=RunOptions(controlnets=nets),
        )


def test_loras_and_seeds_work_with_a_controlnet_and_nothing_leaks(manager: ModelManager, models_dir: Path) -> None:
    request = make_request()
    nets = [manager.get_controlnet("tiny-cn")]
    inputs = {control_image_field(0): square()}
    lora = LoraFile("tiny-lora", models_dir / "lora" / "tiny-lora.safetensors", 1.0)

    def generate_with(loras: list[LoraFile]) -> list[Any]:
        images = run_generation(
            manager.get("tiny"), request, [5, 6], lambda *_: None, inputs, RunOptions(loras=loras, controlnets=nets)
        )
        return [np.asarray(image).astype(int) for image in images]

    base, with_lora, after = generate_with([]), generate_with([lora]), generate_with([])
    assert not np.array_equal(base[0], base[1])  # one seed per image
    assert not np.array_equal(base[0], with_lora[0])
    assert all(np.array_equal(a, b) for a, b in zip(base, after, strict=True))
