"""ControlNetRequest: units (1..4), their limits and cross-field rules, defaults, the mode in the union."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from models.modes import HANDLERS
from schemas.requests import ControlNetRequest, GenerationRequest

UNIT = {"controlnet": "canny-sd15", "control_image": "upl_" + "0" * 32}


def make_request(unit: dict[str, Any] | None = None, **overrides: Any) -> ControlNetRequest:
    fields: dict[str, Any] = {"prompt": "a house", "controlnets": [{**UNIT, **(unit or {})}]}
    fields.update(overrides)
    return ControlNetRequest.model_validate(fields)


def refusal(unit: dict[str, Any] | None = None, **overrides: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as info:
        make_request(unit, **overrides)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


def test_defaults() -> None:
    request = make_request()
    unit = request.controlnets[0]
    assert (unit.conditioning_scale, unit.guidance_start, unit.guidance_end) == (1.0, 0.0, 1.0)
    assert (unit.preprocessor, unit.low_threshold, unit.high_threshold) == ("none", 100, 200)
    assert (request.width, request.height, request.init_image) == (None, None, None)
    assert request.mode == "controlnet"
    assert request.denoising_strength is None  # txt2img: nothing is re-noised
    assert make_request(init_image="upl_" + "1" * 32, strength=0.4).denoising_strength == 0.4


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("conditioning_scale", [0, 2, 0.5], [-0.1, 2.1, "1", True]),
        ("guidance_start", [0, 0.9], [-0.1, 1.1]),
        ("guidance_end", [0.1, 1], [0, 1.1]),  # 0: not after the default start
        ("low_threshold", [1, 199], [0, 256, 1.5]),
        ("high_threshold", [101, 255], [0, 256]),
        ("preprocessor", ["none", "canny"], ["depth", "openpose", ""]),
        ("controlnet", ["control_v11p_sd15_canny"], ["../x", "a/b", ""]),
    ],
)
def test_unit_limits(field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert getattr(make_request({field: value}).controlnets[0], field) == value
    for value in bad:
        loc, _ = refusal({field: value})
        assert loc[:2] == ("controlnets", 0), (value, loc)


@pytest.mark.parametrize(
    ("unit", "named"),
    [
        ({"guidance_start": 0.5, "guidance_end": 0.5}, ("guidance_start", "guidance_end")),
        ({"guidance_start": 0.8, "guidance_end": 0.2}, ("guidance_start", "guidance_end")),
        ({"low_threshold": 200, "high_threshold": 100}, ("low_threshold", "high_threshold")),
        ({"low_threshold": 150, "high_threshold": 150}, ("low_threshold", "high_threshold")),
    ],
)
def test_cross_field_rules_name_both_fields(unit: dict[str, Any], named: tuple[str, str]) -> None:
    loc, msg = refusal(unit)
    assert loc == ("controlnets", 0)
    assert all(field in msg for field in named), msg


def test_one_to_four_units_each_with_a_control_image() -> None:
    assert len(make_request(controlnets=[UNIT] * 4).controlnets) == 4
    assert refusal(controlnets=[])[0] == ("controlnets",)
    assert refusal(controlnets=[UNIT] * 5)[0] == ("controlnets",)
    assert refusal(controlnets=[UNIT, {"controlnet": "x"}])[0] == ("controlnets", 1, "control_image")
    assert refusal({"weight": 1})[0] == ("controlnets", 0, "weight")  # unknown fields are refused
    assert refusal(strength=1.5)[0] == ("strength",)
    assert refusal(width=100)[0] == ("width",)


def test_the_union_tells_the_mode_and_the_worker_knows_its_image_fields() -> None:
    parsed = TypeAdapter(GenerationRequest).validate_python(
        {"mode": "controlnet", "prompt": "x", "controlnets": [UNIT]}
    )
    assert isinstance(parsed, ControlNetRequest)
    assert HANDLERS["controlnet"].input_files == (
        "init_image",
        "control_image_0",
        "control_image_1",
        "control_image_2",
        "control_image_3",
    )
