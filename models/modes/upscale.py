"""upscale: one image made larger by a resampler or a model; no randomness, so always cacheable."""

from __future__ import annotations

from models.modes.base import ImageInput, Images, ModeHandler, Prepared, SubmitLimits
from schemas.errors import RequestInvalid
from schemas.requests import UpscaleRequest
from schemas.upscalers import check_passes


class Upscale(ModeHandler):
    mode = "upscale"
    input_files = ("image",)
    generates = False

    def image_inputs(self, request: UpscaleRequest) -> list[ImageInput]:
        return [ImageInput("image", ("image",), request.image)]

    def prepare(self, request: UpscaleRequest, images: Images, limits: SubmitLimits) -> Prepared:
        """The output within SDQ_MAX_UPSCALE_PIXELS, and every model pass too where the upscaler's factor is known;
        the image is written as it is."""
        image = images["image"]
        width, height = request.output_size(image.width, image.height)
        if width * height > limits.max_upscale_pixels:
            raise RequestInvalid.for_field(
                ["body", "scale"],
                f"{image.width}x{image.height} x {request.scale:g} makes {width}x{height}, more than "
                f"{limits.max_upscale_pixels} pixels (SDQ_MAX_UPSCALE_PIXELS)",
            )
        known = limits.factor_of(request.upscaler)
        if known is not None:
            factor, how = known
            limit = limits.max_upscale_pixels
            check_passes(image.size, (width, height), factor, limit, request.upscaler, ("upscaler", "scale"), how)
        return Prepared({"image": image})

    def is_deterministic(self, request: UpscaleRequest) -> bool:
        return True
