"""Job inputs at submit: each image is written once (an image used at its own size links its upload's file)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image
from redis import Redis

from schemas.jobs import input_image_path
from schemas.requests import Img2ImgRequest
from schemas.settings import Settings
from server.images import upload_path
from server.inputs import InputStore
from tests.conftest import LocalRedis

JOB = "0" * 32


def inline_png(size: tuple[int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def prepare(local_redis: LocalRedis, tmp_path: Path, **fields: object) -> tuple[Settings, Img2ImgRequest]:
    settings = Settings(data_dir=tmp_path, models_dir=tmp_path)
    store = InputStore(settings, Redis.from_url(local_redis.url))
    request = Img2ImgRequest(prompt="x", init_image=inline_png((64, 80)), **fields)
    prepared = store.prepare(request, "alice", JOB)
    assert isinstance(prepared, Img2ImgRequest)
    return settings, prepared


def test_an_inline_image_used_at_its_own_size_is_written_once(local_redis: LocalRedis, tmp_path: Path) -> None:
    settings, prepared = prepare(local_redis, tmp_path)
    upload = upload_path(settings, prepared.init_image)
    written = input_image_path(tmp_path, JOB, "init_image")
    assert (prepared.width, prepared.height) == (64, 80)
    assert written.stat().st_ino == upload.stat().st_ino  # one file, two names


def test_a_resized_input_is_its_own_file_at_the_job_size(local_redis: LocalRedis, tmp_path: Path) -> None:
    settings, prepared = prepare(local_redis, tmp_path, width=128, height=96)
    written = input_image_path(tmp_path, JOB, "init_image")
    assert written.stat().st_ino != upload_path(settings, prepared.init_image).stat().st_ino
    with Image.open(written) as image:
        assert image.size == (128, 96)
