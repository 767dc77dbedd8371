"""Building a submit: the request model of each mode, its JSON body, and the image fields to upload first.

``prepare(mode, request, fields)`` takes either a request model or keyword fields. Keyword fields are validated
into the mode's model here (a refusal raises :class:`~client.errors.InvalidRequest` naming the field, before
anything is sent or uploaded); image fields given as a path, bytes or a PIL image are left as upload slots that
the client fills with upload ids. The body is ``model_dump(mode="json", exclude_unset=True)``: the server's
defaults apply to what the caller left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from client.images import is_local_image
from client.problems import invalid_from_validation
from schemas.requests import ControlNetRequest, Img2ImgRequest, InpaintRequest, Txt2ImgRequest, UpscaleRequest

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "txt2img": Txt2ImgRequest,
    "img2img": Img2ImgRequest,
    "inpaint": InpaintRequest,
    "controlnet": ControlNetRequest,
    "upscale": UpscaleRequest,
}
TOP_IMAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "txt2img": (),
    "img2img": ("init_image", "change_map"),
    "inpaint": ("image", "mask"),
    "controlnet": ("init_image",),
    "upscale": ("image",),
}
PLACEHOLDER = "upl_" + "0" * 32  # passes validation; replaced by the real upload id before sending

BodyPath = tuple[str | int, ...]


def endpoint(mode: str) -> str:
    return f"/api/v1/generate/{mode}"


@dataclass(frozen=True)
class Submission:
    mode: str
    body: dict[str, Any]
    uploads: list[tuple[BodyPath, object]]  # where each upload id goes, and the image to upload

    def filled(self, upload_ids: list[str]) -> dict[str, Any]:
        """The body with each upload slot set to its id (in the order of ``uploads``)."""
        body = _copy(self.body)
        for (path, _), upload_id in zip(self.uploads, upload_ids, strict=True):
            _set(body, path, upload_id)
        return body


def prepare(mode: str, request: BaseModel | None, fields: Mapping[str, Any]) -> Submission:
    model_class = REQUEST_MODELS[mode]
    if request is not None:
        if fields:
            raise TypeError("give a request model or keyword fields, not both")
        if not isinstance(request, model_class):
            raise TypeError(f"{mode} takes a {model_class.__name__}, not a {type(request).__name__}")
        return Submission(mode, request.model_dump(mode="json", exclude_unset=True), [])
    values = _copy(dict(fields))
    uploads = [(path, value) for path, value in _image_values(mode, values) if is_local_image(value)]
    for path, _ in uploads:
        _set(values, path, PLACEHOLDER)
    try:
        model = model_class.model_validate(values)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None
    return Submission(mode, model.model_dump(mode="json", exclude_unset=True), uploads)


def _image_values(mode: str, values: dict[str, Any]) -> list[tuple[BodyPath, object]]:
    found: list[tuple[BodyPath, object]] = [
        ((name,), values[name]) for name in TOP_IMAGE_FIELDS[mode] if name in values
    ]
    if mode == "controlnet" and isinstance(values.get("controlnets"), list):
        for index, unit in enumerate(values["controlnets"]):
            if isinstance(unit, dict) and "control_image" in unit:
                found.append((("controlnets", index, "control_image"), unit["control_image"]))
    return found


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _set(container: Any, path: BodyPath, value: object) -> None:
    for part in path[:-1]:
        container = container[part]
    container[path[-1]] = value
