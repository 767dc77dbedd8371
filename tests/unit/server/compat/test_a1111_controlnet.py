"""AUTOMATIC1111 ControlNet units, override settings and the Extras plan as native fields; bad values are 422s
naming the A1111 field, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.compat.a1111 import A1111ExtrasSingle
from schemas.errors import RequestInvalid
from schemas.requests import ResizeMode
from server.compat.a1111_controlnet import controlnet_units
from server.compat.a1111_extras import _plan
from server.compat.a1111_map import overridden

IMAGE = "aGVsbG8="


def unit(**fields: Any) -> dict[str, Any]:
    return {"model": "tiny-cn [abc123]", "input_image": IMAGE} | fields


def test_units_map_to_native_controlnets_and_the_first_resize_mode() -> None:
    scripts = {
        "ControlNet": {
            "args": [
                unit(
                    module="canny",
                    weight=1.5,
                    guidance_end=0.5,
                    resize_mode="Crop and Resize",
                    threshold_a=50,
                    threshold_b=150,
                ),
                unit(enabled=False, model="None"),
                unit(
                    input_image=None, image={"image": "b3RoZXI=", "mask": None}, resize_mode=2, control_mode="Balanced"
                ),
            ]
        },
        "ADetailer": {"args": [False]},
    }
    units, resize = controlnet_units(scripts, None)
    assert units == [
        {
            "controlnet": "tiny-cn",
            "control_image": IMAGE,
            "preprocessor": "canny",
            "low_threshold": 50,
            "high_threshold": 150,
            "conditioning_scale": 1.5,
            "guidance_end": 0.5,
        },
        {"controlnet": "tiny-cn", "control_image": "b3RoZXI=", "preprocessor": "none"},
    ]
    assert resize is ResizeMode.CROP_AND_RESIZE


def test_webuiapi_default_thresholds_fall_back_to_cannys_defaults() -> None:
    units, _ = controlnet_units({"controlnet": {"args": [unit(module="canny", threshold_a=64, threshold_b=64)]}}, None)
    assert "low_threshold" not in units[0] and units[0]["preprocessor"] == "canny"


def test_no_script_no_args_or_no_enabled_unit_is_no_controlnet() -> None:
    assert controlnet_units(None, None) == ([], None)
    assert controlnet_units({"controlnet": {"args": []}}, None) == ([], None)
    assert controlnet_units({"controlnet": "not an object"}, None) == ([], None)
    assert controlnet_units({"controlnet": {"args": [unit(enabled=False)]}}, None) == ([], None)


def test_a_unit_without_an_image_takes_the_img2img_input() -> None:
    units, _ = controlnet_units({"controlnet": {"args": [{"model": "tiny-cn"}]}}, "aW5pdA==")
    assert units[0]["control_image"] == "aW5pdA=="


@pytest.mark.parametrize(
    ("args", "loc"),
    [
        ([unit(module="openpose")], [0, "module"]),
        ([unit(model="None")], [0, "model"]),
        ([unit(input_image=None, image=None)], [0, "input_image"]),
        ([unit(weight="strong")], [0, "weight"]),
        ([unit(guidance_start=True)], [0, "guidance_start"]),
        (["positional", 1], [0]),
        ([unit()] * 5, [4]),
    ],
)
def test_bad_units_are_refused_naming_the_unit_field(args: list[Any], loc: list[str | int]) -> None:
    with pytest.raises(RequestInvalid) as refused:
        controlnet_units({"controlnet": {"args": args}}, None)
    assert refused.value.errors[0].loc == ["body", "alwayson_scripts", "controlnet", "args", *loc]


def test_override_settings_give_checkpoint_clip_skip_and_vae() -> None:
    assert overridden(
        {"sd_model_checkpoint": "tiny.safetensors [0123456789]", "CLIP_stop_at_last_layers": 2.0, "sd_vae": "ft-mse.pt"}
    ) == {"model": "tiny", "clip_skip": 2, "vae": "ft-mse"}
    assert overridden({"CLIP_stop_at_last_layers": 0, "sd_vae": "Automatic", "samples_format": "jpg"}) == {
        "clip_skip": 1
    }
    assert overridden({"CLIP_stop_at_last_layers": "two"}) == {"clip_skip": "two"}  # the schema refuses it by name


def test_extras_plan_scales_or_covers_and_crops() -> None:
    assert _plan(A1111ExtrasSingle(image=IMAGE), (32, 32)) == (2.0, None)
    covering = A1111ExtrasSingle(image=IMAGE, resize_mode=1, upscaling_resize_w=96, upscaling_resize_h=48)
    assert _plan(covering, (32, 32)) == (3.0, (96, 48))
    uncropped = covering.model_copy(update={"upscaling_crop": False})
    assert _plan(uncropped, (32, 32)) == (3.0, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"upscaling_resize": 0.5}, "upscaling_resize"),
        ({"upscaling_resize": 9}, "upscaling_resize"),
        ({"resize_mode": 1, "upscaling_resize_w": 16, "upscaling_resize_h": 16}, "upscaling_resize_w"),
    ],
)
def test_extras_plan_refuses_scales_outside_1_to_8_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestInvalid) as refused:
        _plan(A1111ExtrasSingle(image=IMAGE, **fields), (32, 32))
    assert refused.value.errors[0].loc == ["body", field]
