"""What a mode's handler knows, and the defaults most modes share (Pillow only, no torch: the API imports it).

A handler answers every question that differs by mode, on both sides of the queue:

- at submit (``server/inputs.py``): which request fields hold images (:meth:`ModeHandler.image_inputs`), how they
  are checked and fitted into the job's input files (:meth:`ModeHandler.prepare`), and how the queued request
  names them afterwards (:meth:`ModeHandler.with_refs`);
- for the result cache (``server/cache.py``): the fields that cannot change the pixels, and whether the request is
  deterministic;
- in the worker (``models/generate.py``, ``worker/tasks.py``): the input files to read, the diffusers pipeline kind
  and its arguments, the inputs as the pipeline sees them and what is done to its images afterwards, the hires
  pass, and the mode's entries of the A1111 infotext (``worker/outputs.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image, ImageOps

from schemas.errors import FieldPath
from schemas.requests import ResizeMode

Images = dict[str, Image.Image]
"""A job's input images by file name (``init_image``, ``mask``, ``control_image_0``, ...)."""
FactorOf = Callable[[str], tuple[int, str] | None]
"""An upscaler's factor where the API knows it, and how it knows it (see ``store.upscaler_factors.known_factor``)."""
Finish = Callable[[list[Image.Image]], list[Image.Image]]


def unknown_factor(name: str) -> tuple[int, str] | None:
    return None


@dataclass(frozen=True)
class ImageInput:
    """One image a request carries: its job input file name, where it sits in the body, its value."""

    name: str
    loc: FieldPath
    value: str
    grey: bool = False


@dataclass(frozen=True)
class SubmitLimits:
    """The API's limits a mode's preparation checks against."""

    max_upscale_pixels: int
    factor_of: FactorOf = unknown_factor


@dataclass(frozen=True)
class Prepared:
    """A checked request's input files (fitted, for the worker) and the fields the API fills in (the size)."""

    files: Images = field(default_factory=dict)
    update: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Staged:
    """The inputs as the pipeline sees them, and what is done to its images afterwards."""

    inputs: Images
    finish: Finish = lambda images: images


@dataclass(frozen=True)
class HiresPlan:
    """A txt2img hires fix: upscale the first pass to ``size`` with ``upscaler``, then refine with img2img."""

    size: tuple[int, int]
    upscaler: str
    steps: int
    strength: float


def fit(image: Image.Image, width: int, height: int, mode: ResizeMode) -> Image.Image:
    """Resize to width x height: stretch, crop to fill, or fit inside and pad (AUTOMATIC1111's resize modes)."""
    if image.size == (width, height):
        return image
    if mode is ResizeMode.JUST_RESIZE:
        return image.resize((width, height), Image.Resampling.LANCZOS)
    if mode is ResizeMode.CROP_AND_RESIZE:
        return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    return ImageOps.pad(image, (width, height), Image.Resampling.LANCZOS, color="white")


def snap(value: int) -> int:
    """A size the models take: a multiple of 8 within 64..2048."""
    return max(64, min(2048, value - value % 8))


def job_size(request: Any, image: Image.Image) -> tuple[int, int]:
    """The request's width x height, each defaulting to ``image``'s rounded to a size the models take."""
    return request.width or snap(image.width), request.height or snap(image.height)


class ModeHandler:
    """The defaults: a generation mode without input images (txt2img overrides only what differs)."""

    mode: ClassVar[str]
    input_files: ClassVar[tuple[str, ...]] = ()
    """Every input file the API may write for this mode (optional ones only when given), in order."""
    grey_files: ClassVar[frozenset[str]] = frozenset()
    generates: ClassVar[bool] = True
    """A generation: a checkpoint, prompts and seeds, denoising steps, watermarks (an upscale is not)."""
    pipeline: ClassVar[str] = "txt2img"
    """The diffusers auto-pipeline the mode runs on: txt2img, img2img or inpaint."""

    # -- at submit ------------------------------------------------------------------------------------------------
    def image_inputs(self, request: Any) -> list[ImageInput]:
        return []

    def prepare(self, request: Any, images: Images, limits: SubmitLimits) -> Prepared:
        """Check the loaded images against each other and the request; the fitted files and the filled-in fields."""
        return Prepared()

    def with_refs(self, request: Any, refs: dict[str, str], update: dict[str, Any]) -> Any:
        """The request as queued: image fields naming uploads (``refs`` by input name), ``update`` applied."""
        return request.model_copy(update={**refs, **update})

    # -- result cache ---------------------------------------------------------------------------------------------
    def unused_fields(self, request: Any) -> set[str]:
        """Request fields that cannot change this request's pixels (beside the ones no mode's pixels depend on)."""
        return set()

    def is_deterministic(self, request: Any) -> bool:
        """Whether the request always gives the same pixels: an explicit seed."""
        return bool(request.seed != -1)

    # -- in the worker --------------------------------------------------------------------------------------------
    def pipeline_kind(self, request: Any) -> str:
        return self.pipeline

    def unchanged_input(self, request: Any) -> str | None:
        """The input returned as it is, with nothing to denoise (strength 0), if the mode has one."""
        return None

    def stage(self, request: Any, inputs: Images) -> Staged:
        return Staged(inputs)

    def pipeline_arguments(self, request: Any, inputs: Images) -> dict[str, Any]:
        """The mode's arguments to the diffusers pipeline call (beside prompt, steps, guidance, generators)."""
        return {"width": request.width, "height": request.height}

    def hires(self, request: Any) -> HiresPlan | None:
        return None

    def infotext_sampling(self, request: Any) -> list[str]:
        """The mode's infotext entries after ``Size`` (and ``Denoising strength``)."""
        return []

    def infotext_extensions(self, request: Any) -> list[str]:
        """The mode's infotext entries after ``Clip skip`` (extension blocks, as A1111's extensions write them)."""
        return []
