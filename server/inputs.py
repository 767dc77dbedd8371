"""Uploads and the input images of a job.

``POST /api/v1/uploads`` stores a checked, normalised PNG as ``<data_dir>/uploads/<upl_id>.png``, owned by the
caller (``sdq:upload:<id>``, kept for the retention time). At submit, every image field (an upload id, or inline
base64 or an http(s) URL, fetched and stored as an upload first) is fitted to the job's size and written to
``<data_dir>/inputs/<job_id>/<field>.png`` for the worker (inpaint "only masked" keeps the image and the processed
mask at the image's size: the worker crops them); the queued request then names the upload id, never megabytes of
base64. Another user's upload id is refused like an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter, ImageOps
from redis import Redis

from models.inpaint_area import repaint_box
from schemas.errors import FieldPath, PayloadTooLarge, RequestInvalid, body_loc
from schemas.generation import (
    ControlNetRequest,
    Img2ImgRequest,
    InpaintRequest,
    ResizeMode,
    control_image_field,
)
from schemas.jobs import input_image_path
from schemas.keys import upload_owner_key
from schemas.settings import Settings
from schemas.upscale import AnyJobRequest, UpscaleRequest
from schemas.upscalers import check_passes
from server.images import (
    UPLOAD_ID,
    fit,
    new_upload_id,
    open_image,
    read_bytes,
    snap,
    upload_path,
    write_png,
)
from server.preprocessors import preprocess
from server.uploads import UploadLedger, UploadQuota

FactorOf = Callable[[str], tuple[int, str] | None]
"""An upscaler's factor where the API knows it, and how it knows it (see ``store.upscaler_factors.known_factor``)."""


def _unknown_factor(name: str) -> tuple[int, str] | None:
    return None


class InputStore:
    def __init__(self, settings: Settings, redis: Redis, factor_of: FactorOf = _unknown_factor) -> None:
        self.settings = settings
        self.redis = redis
        self.factor_of = factor_of
        self.ledger = UploadLedger(redis, settings.retention_seconds)

    def save_upload(
        self, data: bytes, owner: str, field: str = "file", quota: UploadQuota | None = None
    ) -> dict[str, Any]:
        """Store a checked image as an upload of ``owner``; with a ``quota``, noted in the owner's ledger and
        refused (413 naming ``field``) when it would pass the quota."""
        image = open_image(data, field, self.settings)
        upload_id = self._store(image, owner)
        if quota is not None:
            path = upload_path(self.settings, upload_id)
            size = path.stat().st_size
            try:
                self.ledger.check(owner, quota, size, field)
            except PayloadTooLarge:
                path.unlink(missing_ok=True)
                self.redis.delete(f"sdq:upload:{upload_id}")
                raise
            self.ledger.record(owner, upload_id, size)
        return {"id": upload_id, "width": image.width, "height": image.height}

    def _store(self, image: Image.Image, owner: str) -> str:
        upload_id = new_upload_id()
        write_png(image, upload_path(self.settings, upload_id))
        self.redis.set(upload_owner_key(upload_id), owner, ex=self.settings.retention_seconds)
        return upload_id

    def _image(self, value: str, field: FieldPath, owner: str, *, grey: bool) -> _Loaded:
        """An owned upload, or inline data (base64, a fetched URL) checked and decoded; nothing is stored yet."""
        if UPLOAD_ID.fullmatch(value):
            stored: Any = self.redis.get(upload_owner_key(value))
            path = upload_path(self.settings, value)
            if stored is None or stored.decode() != owner or not path.is_file():
                raise RequestInvalid.for_field(body_loc(field), f"unknown upload {value!r}")
            with Image.open(path) as stored_image:
                return _Loaded(stored_image.convert("L" if grey else "RGB"), value, inline=False)
        image = open_image(read_bytes(value, field, self.settings), field, self.settings, grey=grey)
        return _Loaded(image, value, inline=True)

    def _refs(self, loaded: dict[str, _Loaded], owner: str, keep: bool) -> dict[str, str]:
        """Each field's value for the queued request: with ``keep``, inline images become uploads of the owner
        (stored only now, once every check has passed)."""
        return {
            field: self._store(item.image, owner) if keep and item.inline else item.ref
            for field, item in loaded.items()
        }

    def prepare(self, request: AnyJobRequest, owner: str, job_id: str | None) -> AnyJobRequest:
        """Check the request's images; with a ``job_id``, also write the job's inputs and return the request
        with sizes filled in and image fields naming uploads. Without one (validate), nothing is written."""
        keep = job_id is not None
        if isinstance(request, ControlNetRequest):
            return self._prepare_controlnet(request, owner, job_id)
        if isinstance(request, Img2ImgRequest):
            loaded = {"init_image": self._image(request.init_image, "init_image", owner, grey=False)}
            image = loaded["init_image"].image
            width, height = request.width or snap(image.width), request.height or snap(image.height)
            change_map = None
            if request.change_map is not None:
                loaded["change_map"] = self._image(request.change_map, "change_map", owner, grey=True)
                change_map = loaded["change_map"].image
                if change_map.size != image.size:
                    raise RequestInvalid.for_field(
                        ["body", "change_map"],
                        f"the change map is {change_map.width}x{change_map.height} but init_image is "
                        f"{image.width}x{image.height}; they must be the same size",
                    )
            if job_id is not None:
                fitted = fit(image, width, height, request.resize_mode)
                write_png(fitted, input_image_path(self.settings.data_dir, job_id, "init_image"))
                if change_map is not None:
                    fitted_map = fit(change_map, width, height, request.resize_mode)
                    write_png(fitted_map, input_image_path(self.settings.data_dir, job_id, "change_map"))
            return request.model_copy(update={**self._refs(loaded, owner, keep), "width": width, "height": height})
        if isinstance(request, InpaintRequest):
            loaded = {
                "image": self._image(request.image, "image", owner, grey=False),
                "mask": self._image(request.mask, "mask", owner, grey=True),
            }
            image, mask = loaded["image"].image, loaded["mask"].image
            if mask.size != image.size:
                raise RequestInvalid.for_field(
                    ["body", "mask"],
                    f"the mask is {mask.width}x{mask.height} but the image is "
                    f"{image.width}x{image.height}; they must be the same size",
                )
            width, height = request.width or snap(image.width), request.height or snap(image.height)
            if request.invert_mask:
                mask = ImageOps.invert(mask)
            if request.mask_blur:
                mask = mask.filter(ImageFilter.GaussianBlur(request.mask_blur))
            full_res = request.inpaint_full_res
            if full_res and repaint_box(mask, request.inpaint_full_res_padding, width, height) is None:
                inverted = " after invert_mask" if request.invert_mask else ""
                raise RequestInvalid.for_field(
                    ["body", "mask"],
                    f"the mask selects nothing: it is black everywhere{inverted}, so inpaint_full_res has no area "
                    "to repaint",
                )
            if job_id is not None:
                # Only masked: the worker crops the box around the mask from the full-size image and mask itself
                # (models/inpaint_area.py); otherwise both are fitted to the job's size here.
                write_png(
                    image if full_res else fit(image, width, height, ResizeMode.JUST_RESIZE),
                    input_image_path(self.settings.data_dir, job_id, "image"),
                )
                write_png(
                    mask if full_res else fit(mask, width, height, ResizeMode.JUST_RESIZE),
                    input_image_path(self.settings.data_dir, job_id, "mask"),
                )
            return request.model_copy(update={**self._refs(loaded, owner, keep), "width": width, "height": height})
        if isinstance(request, UpscaleRequest):
            return self._prepare_upscale(request, owner, job_id)
        return request

    def _prepare_upscale(self, request: UpscaleRequest, owner: str, job_id: str | None) -> UpscaleRequest:
        loaded = {"image": self._image(request.image, "image", owner, grey=False)}
        image = loaded["image"].image
        width, height = request.output_size(image.width, image.height)
        if width * height > self.settings.max_upscale_pixels:
            raise RequestInvalid.for_field(
                ["body", "scale"],
                f"{image.width}x{image.height} x {request.scale:g} makes {width}x{height}, more than "
                f"{self.settings.max_upscale_pixels} pixels (SDQ_MAX_UPSCALE_PIXELS)",
            )
        known = self.factor_of(request.upscaler)
        if known is not None:
            factor, how = known
            limit = self.settings.max_upscale_pixels
            check_passes(image.size, (width, height), factor, limit, request.upscaler, ("upscaler", "scale"), how)
        if job_id is not None:
            write_png(image, input_image_path(self.settings.data_dir, job_id, "image"))
        return request.model_copy(update=self._refs(loaded, owner, job_id is not None))

    def _prepare_controlnet(self, request: ControlNetRequest, owner: str, job_id: str | None) -> ControlNetRequest:
        """The init image (optional) and each unit's control image, fitted to the job's size (default: the init
        image's, else the first control image's, rounded to 8); each control image after its preprocessor."""
        keep = job_id is not None
        init = None if request.init_image is None else self._image(request.init_image, "init_image", owner, grey=False)
        controls = [
            self._image(unit.control_image, ("controlnets", index, "control_image"), owner, grey=False)
            for index, unit in enumerate(request.controlnets)
        ]
        sized = (init or controls[0]).image
        width, height = request.width or snap(sized.width), request.height or snap(sized.height)
        if job_id is not None:
            if init is not None:
                fitted = fit(init.image, width, height, request.resize_mode)
                write_png(fitted, input_image_path(self.settings.data_dir, job_id, "init_image"))
            for index, (unit, control) in enumerate(zip(request.controlnets, controls, strict=True)):
                prepared = preprocess(fit(control.image, width, height, request.resize_mode), unit)
                write_png(prepared, input_image_path(self.settings.data_dir, job_id, control_image_field(index)))
        update: dict[str, Any] = self._refs({"init_image": init} if init else {}, owner, keep)
        units = [
            unit.model_copy(update={"control_image": ref})
            for unit, ref in zip(
                request.controlnets,
                self._refs({str(i): c for i, c in enumerate(controls)}, owner, keep).values(),
                strict=True,
            )
        ]
        return request.model_copy(update={**update, "controlnets": units, "width": width, "height": height})


@dataclass(frozen=True)
class _Loaded:
    image: Image.Image
    ref: str  # what the field held: an upload id, or the inline value
    inline: bool  # not yet an upload
