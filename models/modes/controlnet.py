"""controlnet: txt2img (img2img with an init image) steered by 1..4 ControlNets, each with a control image."""

from __future__ import annotations

from typing import Any

from models.modes.base import ImageInput, Images, ModeHandler, Prepared, SubmitLimits, fit, job_size
from models.preprocessors import preprocess
from schemas.requests import MAX_CONTROLNETS, ControlNetRequest, control_image_field


class ControlNet(ModeHandler):
    mode = "controlnet"
    input_files = ("init_image", *(control_image_field(i) for i in range(MAX_CONTROLNETS)))  # those given

    def image_inputs(self, request: ControlNetRequest) -> list[ImageInput]:
        init = [] if request.init_image is None else [ImageInput("init_image", ("init_image",), request.init_image)]
        return init + [
            ImageInput(control_image_field(index), ("controlnets", index, "control_image"), unit.control_image)
            for index, unit in enumerate(request.controlnets)
        ]

    def prepare(self, request: ControlNetRequest, images: Images, limits: SubmitLimits) -> Prepared:
        """The init image (optional) and each unit's control image fitted to the job's size (default: the init
        image's, else the first control image's, rounded to 8); each control image after its preprocessor."""
        width, height = job_size(request, images.get("init_image") or images[control_image_field(0)])
        files = {name: fit(image, width, height, request.resize_mode) for name, image in images.items()}
        for index, unit in enumerate(request.controlnets):
            name = control_image_field(index)
            files[name] = preprocess(files[name], unit)
        return Prepared(files, {"width": width, "height": height})

    def with_refs(self, request: ControlNetRequest, refs: dict[str, str], update: dict[str, Any]) -> ControlNetRequest:
        units = [
            unit.model_copy(update={"control_image": refs[control_image_field(index)]})
            for index, unit in enumerate(request.controlnets)
        ]
        init = {"init_image": refs["init_image"]} if "init_image" in refs else {}
        return request.model_copy(update={**init, **update, "controlnets": units})

    def pipeline_kind(self, request: ControlNetRequest) -> str:
        return "img2img" if request.init_image is not None else "txt2img"

    def unchanged_input(self, request: ControlNetRequest) -> str | None:
        return "init_image" if request.init_image is not None and request.strength == 0 else None

    def pipeline_arguments(self, request: ControlNetRequest, inputs: Images) -> dict[str, Any]:
        """Control images and per-unit settings: one value for one ControlNet, a list (in unit order) for several."""
        units = request.controlnets

        def per_unit(values: list[Any]) -> Any:
            return values if len(units) > 1 else values[0]

        controls = per_unit([inputs[control_image_field(index)] for index in range(len(units))])
        arguments = {
            "controlnet_conditioning_scale": per_unit([unit.conditioning_scale for unit in units]),
            "control_guidance_start": per_unit([unit.guidance_start for unit in units]),
            "control_guidance_end": per_unit([unit.guidance_end for unit in units]),
        }
        if request.init_image is not None:  # img2img: the init image's size (fitted at submit) is the output size
            return {**arguments, "image": inputs["init_image"], "control_image": controls, "strength": request.strength}
        return {**arguments, "image": controls, "width": request.width, "height": request.height}

    def infotext_extensions(self, request: ControlNetRequest) -> list[str]:
        """One ``ControlNet N: "..."`` entry per unit, in the shape AUTOMATIC1111's ControlNet extension writes."""
        texts = []
        for index, unit in enumerate(request.controlnets):
            parts = [
                f"Module: {unit.preprocessor}",
                f"Model: {unit.controlnet}",
                f"Weight: {unit.conditioning_scale:g}",
                f"Guidance Start: {unit.guidance_start:g}",
                f"Guidance End: {unit.guidance_end:g}",
            ]
            if unit.preprocessor == "canny":
                parts += [f"Threshold A: {unit.low_threshold}", f"Threshold B: {unit.high_threshold}"]
            texts.append(f'ControlNet {index}: "{", ".join(parts)}"')
        return texts
