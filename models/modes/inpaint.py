"""inpaint: repaint the white part of the mask; "only masked" repaints the box around it at full resolution."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageFilter, ImageOps

from models.inpaint_area import crop_for_repaint, paste_back, repaint_box
from models.modes.base import ImageInput, Images, ModeHandler, Prepared, Staged, SubmitLimits, fit, job_size
from schemas.errors import GenerationFailed, RequestInvalid
from schemas.requests import InpaintRequest, ResizeMode


class Inpaint(ModeHandler):
    mode = "inpaint"
    input_files = ("image", "mask")
    grey_files = frozenset({"mask"})
    pipeline = "inpaint"

    def image_inputs(self, request: InpaintRequest) -> list[ImageInput]:
        return [ImageInput("image", ("image",), request.image), ImageInput("mask", ("mask",), request.mask, grey=True)]

    def prepare(self, request: InpaintRequest, images: Images, limits: SubmitLimits) -> Prepared:
        """The mask inverted and blurred as asked; "only masked" keeps both at the image's size (the worker crops
        them), otherwise both are fitted to the job's size."""
        image, mask = images["image"], images["mask"]
        if mask.size != image.size:
            raise RequestInvalid.for_field(
                ["body", "mask"],
                f"the mask is {mask.width}x{mask.height} but the image is "
                f"{image.width}x{image.height}; they must be the same size",
            )
        width, height = job_size(request, image)
        if request.invert_mask:
            mask = ImageOps.invert(mask)
        if request.mask_blur:
            mask = mask.filter(ImageFilter.GaussianBlur(request.mask_blur))
        if request.inpaint_full_res:
            if repaint_box(mask, request.inpaint_full_res_padding, width, height) is None:
                inverted = " after invert_mask" if request.invert_mask else ""
                raise RequestInvalid.for_field(
                    ["body", "mask"],
                    f"the mask selects nothing: it is black everywhere{inverted}, so inpaint_full_res has no area "
                    "to repaint",
                )
            files = {"image": image, "mask": mask}
        else:
            files = {
                name: fit(given, width, height, ResizeMode.JUST_RESIZE)
                for name, given in (("image", image), ("mask", mask))
            }
        return Prepared(files, {"width": width, "height": height})

    def stage(self, request: InpaintRequest, inputs: Images) -> Staged:
        """Only masked: the crop around the mask at width x height, pasted back into the full-size image after;
        otherwise the original is composited back wherever the (blurred) mask is black."""
        if not request.inpaint_full_res:
            return Staged(inputs, lambda images: [Image.composite(i, inputs["image"], inputs["mask"]) for i in images])
        width, height = request.width, request.height
        assert width is not None and height is not None, "the API fills in the size"
        box = repaint_box(inputs["mask"], request.inpaint_full_res_padding, width, height)
        if box is None:
            raise GenerationFailed("the mask selects nothing: inpaint_full_res has no area to repaint")
        crop, crop_mask = crop_for_repaint(inputs["image"], inputs["mask"], box, width, height)
        return Staged(
            {**inputs, "image": crop, "mask": crop_mask},
            lambda images: [paste_back(i, inputs["image"], inputs["mask"], box) for i in images],
        )

    def pipeline_arguments(self, request: InpaintRequest, inputs: Images) -> dict[str, Any]:
        return {
            "width": request.width,
            "height": request.height,
            "image": inputs["image"],
            "mask_image": inputs["mask"],
            "strength": request.strength,
        }

    def infotext_sampling(self, request: InpaintRequest) -> list[str]:
        texts = [f"Mask blur: {request.mask_blur}"]
        if request.inpaint_full_res:
            texts += ["Inpaint area: Only masked", f"Masked area padding: {request.inpaint_full_res_padding}"]
        return texts
