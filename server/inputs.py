"""Uploads and the input images of a job.

``POST /api/v1/uploads`` stores a checked, normalised PNG as ``<data_dir>/uploads/<upl_id>.png``, owned by the
caller (``sdq:upload:<id>``, kept for the retention time). At submit, every image field (an upload id, or inline
base64 or an http(s) URL, fetched and stored as an upload first) is fitted to the job's size and written to
``<data_dir>/inputs/<job_id>/<field>.png`` for the worker (inpaint "only masked" keeps the image and the processed
mask at the image's size: the worker crops them); the queued request then names the upload id, never megabytes of
base64. Another user's upload id is refused like an unknown one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from redis import Redis

from models.modes import SubmitLimits, handler_for
from models.modes.base import FactorOf, unknown_factor
from schemas.errors import FieldPath, PayloadTooLarge, RequestInvalid, body_loc
from schemas.jobs import input_image_path
from schemas.keys import upload_owner_key
from schemas.requests import AnyJobRequest
from schemas.settings import Settings
from server.images import UPLOAD_ID, new_upload_id, open_image, read_bytes, upload_path, write_png
from server.uploads import UploadLedger, UploadQuota


class InputStore:
    def __init__(self, settings: Settings, redis: Redis, factor_of: FactorOf = unknown_factor) -> None:
        self.settings = settings
        self.redis = redis
        self.limits = SubmitLimits(settings.max_upscale_pixels, factor_of)
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
            mode = "L" if grey else "RGB"
            with Image.open(path) as stored_image:
                return _Loaded(stored_image.convert(mode), value, inline=False, same_as_file=stored_image.mode == mode)
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
        """Check the request's images (its mode's handler says which and how); with a ``job_id``, also write the
        job's inputs and return the request with sizes filled in and image fields naming uploads.
        Without one (validate), nothing is written."""
        handler = handler_for(request)
        fields = handler.image_inputs(request)
        if not fields:
            return request
        loaded = {item.name: self._image(item.value, item.loc, owner, grey=item.grey) for item in fields}
        prepared = handler.prepare(request, {name: item.image for name, item in loaded.items()}, self.limits)
        refs = self._refs(loaded, owner, job_id is not None)
        if job_id is not None:
            for name, image in prepared.files.items():
                source = loaded[name]
                as_is = image is source.image and source.same_as_file
                self._write_input(
                    image, refs[name] if as_is else None, input_image_path(self.settings.data_dir, job_id, name)
                )
        return handler.with_refs(request, refs, prepared.update)

    def _write_input(self, image: Image.Image, upload_id: str | None, path: Path) -> None:
        """Write a job input; an image used as it is links its upload's file instead (each image written once)."""
        if upload_id is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(upload_path(self.settings, upload_id), path)
                return
            except OSError:
                pass  # another file system, or no hard links: write it
        write_png(image, path)


@dataclass(frozen=True)
class _Loaded:
    image: Image.Image
    ref: str  # what the field held: an upload id, or the inline value
    inline: bool  # not yet an upload
    same_as_file: bool = True  # the upload's file (stored from this image) holds exactly these pixels
