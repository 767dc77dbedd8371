"""ControlNet units of the AUTOMATIC1111 ControlNet extension (``alwayson_scripts.controlnet.args``, a list of unit
objects) as the native ``controlnets`` of a ControlNet job.

A unit: ``model`` (``name`` or ``name [hash]``), ``module`` (preprocessor: ``none`` or ``canny``; ``threshold_a`` /
``threshold_b`` are canny's thresholds), ``input_image`` or ``image`` (base64, a data URL, or ``{"image": ...}``;
none: the img2img input), ``weight``, ``guidance_start``, ``guidance_end``, ``resize_mode``, ``enabled``. Other
unit keys (``control_mode``, ``pixel_perfect``, ``processor_res``, ``low_vram``, ...) are ignored. Other scripts in
``alwayson_scripts`` are ignored.
"""

from __future__ import annotations

from typing import Any

from schemas.errors import RequestInvalid
from schemas.requests import MAX_CONTROLNETS, ResizeMode
from server.compat.a1111_map import RESIZE_MODES, checkpoint_name

CONTROLNET_MODULES = ("none", "canny")
RESIZE_NAMES = {
    "just resize": ResizeMode.JUST_RESIZE,
    "inner fit (scale to fit)": ResizeMode.CROP_AND_RESIZE,
    "crop and resize": ResizeMode.CROP_AND_RESIZE,
    "resize and fill": ResizeMode.RESIZE_AND_FILL,
    "outer fit (shrink to fit)": ResizeMode.RESIZE_AND_FILL,
    "envelope (outer fit)": ResizeMode.RESIZE_AND_FILL,
}
UNIT_COPIED = {"weight": "conditioning_scale", "guidance_start": "guidance_start", "guidance_end": "guidance_end"}


def _loc(index: int, *rest: str) -> list[str | int]:
    return ["body", "alwayson_scripts", "controlnet", "args", index, *rest]


def _refuse(loc: list[str | int], msg: str) -> RequestInvalid:
    return RequestInvalid.for_field(loc, msg, f"{'.'.join(str(part) for part in loc[1:])}: {msg}")


def controlnet_args(scripts: dict[str, Any] | None) -> list[Any]:
    """The ControlNet extension's ``args`` (the script name matched case-insensitively), or [] without it."""
    for name, script in (scripts or {}).items():
        if name.lower() == "controlnet" and isinstance(script, dict):
            args = script.get("args")
            return args if isinstance(args, list) else []
    return []


def _module(unit: dict[str, Any], index: int) -> dict[str, Any]:
    module = str(unit.get("module") or "none").strip().lower()
    if module in ("none", ""):
        return {"preprocessor": "none"}
    if not module.startswith("canny"):
        msg = f"preprocessor {unit.get('module')!r} is not available; use one of: {', '.join(CONTROLNET_MODULES)}"
        raise _refuse(_loc(index, "module"), msg)
    fields: dict[str, Any] = {"preprocessor": "canny"}
    low, high = unit.get("threshold_a"), unit.get("threshold_b")
    if isinstance(low, int | float) and isinstance(high, int | float) and 1 <= low < high <= 255:
        fields |= {"low_threshold": int(low), "high_threshold": int(high)}  # else canny's defaults (100, 200)
    return fields


def _image(unit: dict[str, Any], init_image: str | None, index: int) -> str:
    image = unit.get("input_image") or unit.get("image")
    if isinstance(image, dict):
        image = image.get("image")
    if isinstance(image, str) and image:
        return image
    if init_image:
        return init_image  # A1111 uses the img2img input when a unit has no image
    raise _refuse(_loc(index, "input_image"), "a ControlNet unit needs an image (input_image or image)")


def _numbers(unit: dict[str, Any], index: int) -> dict[str, float]:
    fields = {}
    for key, ours in UNIT_COPIED.items():
        value = unit.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _refuse(_loc(index, key), "must be a number")
        fields[ours] = float(value)
    return fields


def resize_mode_of(value: object) -> ResizeMode:
    if isinstance(value, int):
        return RESIZE_MODES.get(value, ResizeMode.JUST_RESIZE)
    return RESIZE_NAMES.get(str(value or "").strip().lower(), ResizeMode.JUST_RESIZE)


def controlnet_units(
    scripts: dict[str, Any] | None, init_image: str | None
) -> tuple[list[dict[str, Any]], ResizeMode | None]:
    """The enabled units as native ``controlnets`` (empty: no ControlNet), and the first unit's resize mode."""
    units: list[dict[str, Any]] = []
    resize: ResizeMode | None = None
    for index, unit in enumerate(controlnet_args(scripts)):
        if not isinstance(unit, dict):
            raise _refuse(_loc(index), "a ControlNet unit must be an object")
        if unit.get("enabled", True) is False:
            continue
        model = str(unit.get("model") or "").strip()
        if not model or model.lower() == "none":
            raise _refuse(_loc(index, "model"), "an enabled ControlNet unit needs a model (GET /controlnet/model_list)")
        native: dict[str, Any] = {
            "controlnet": checkpoint_name(model),
            "control_image": _image(unit, init_image, index),
        }
        native |= _module(unit, index)
        native |= _numbers(unit, index)
        units.append(native)
        resize = resize if resize is not None else resize_mode_of(unit.get("resize_mode"))
    if len(units) > MAX_CONTROLNETS:
        raise _refuse(_loc(MAX_CONTROLNETS), f"at most {MAX_CONTROLNETS} enabled ControlNet units")
    return units, resize
