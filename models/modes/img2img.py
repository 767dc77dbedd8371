"""img2img: an init image noised by ``strength``; with a change map, differential img2img."""

from __future__ import annotations

from typing import Any

from models.modes.base import ImageInput, Images, ModeHandler, Prepared, SubmitLimits, fit, job_size
from schemas.errors import RequestInvalid
from schemas.requests import Img2ImgRequest


class Img2Img(ModeHandler):
    mode = "img2img"
    input_files = ("init_image", "change_map")  # change_map only when given
    grey_files = frozenset({"change_map"})
    pipeline = "img2img"

    def image_inputs(self, request: Img2ImgRequest) -> list[ImageInput]:
        given = [ImageInput("init_image", ("init_image",), request.init_image)]
        if request.change_map is not None:
            given.append(ImageInput("change_map", ("change_map",), request.change_map, grey=True))
        return given

    def prepare(self, request: Img2ImgRequest, images: Images, limits: SubmitLimits) -> Prepared:
        image = images["init_image"]
        change_map = images.get("change_map")
        if change_map is not None and change_map.size != image.size:
            raise RequestInvalid.for_field(
                ["body", "change_map"],
                f"the change map is {change_map.width}x{change_map.height} but init_image is "
                f"{image.width}x{image.height}; they must be the same size",
            )
        width, height = job_size(request, image)
        files = {name: fit(given, width, height, request.resize_mode) for name, given in images.items()}
        return Prepared(files, {"width": width, "height": height})

    def unchanged_input(self, request: Img2ImgRequest) -> str | None:
        return "init_image" if request.strength == 0 else None

    def pipeline_arguments(self, request: Img2ImgRequest, inputs: Images) -> dict[str, Any]:
        return {"image": inputs["init_image"], "strength": request.strength}  # its size is the output size
