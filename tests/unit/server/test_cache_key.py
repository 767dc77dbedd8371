"""The result-cache key changes when anything that changes pixels changes, and only then (property tests), and
the entry store keeps the most recently used entries under its byte cap. Real Redis, real model files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from models.registry import ModelRegistry
from schemas.requests import Txt2ImgRequest, UpscaleRequest
from schemas.settings import Settings
from server.cache import RequestKeys, is_deterministic
from store.cache import CacheStore

BASE: dict[str, Any] = {"prompt": "a lighthouse", "seed": 7, "width": 64, "height": 64, "steps": 2}
PIXEL_CHANGES: list[dict[str, Any]] = [
    {"prompt": "a lighthouse at night"},
    {"negative_prompt": "blurry"},
    {"width": 72},
    {"height": 128},
    {"steps": 3},
    {"cfg_scale": 6.5},
    {"sampler": "ddim"},
    {"sampler": "euler", "scheduler": "karras"},
    {"seed": 8},
    {"batch_size": 2},
    {"clip_skip": 2},
    {"loras": [{"name": "tiny-lora", "weight": 0.5}]},
    {"prompt": "a lighthouse <lora:tiny-lora:0.5>"},
    {"hr_scale": 2.0},
    {"prompts": ["one", "two"]},
    {"watermark": {"text": "mine"}},
    {"model": "other"},
]
SAME_PIXELS: list[dict[str, Any]] = [
    {"priority": "high"},
    {"priority": "low"},
    {"force_regenerate": True},
    {"sampler": "Euler a"},  # the A1111 label of the default sampler
    {"watermark": {"opacity": 0.9}},  # no visible text: nothing is drawn either way
    {"hr_steps": 5, "hr_upscaler": "nearest"},  # no hires pass without hr_scale > 1
]
SETTINGS_CHANGES: list[dict[str, Any]] = [
    {"watermark_text": "house"},
    {"invisible_watermark": False},
    {"invisible_watermark_payload": "other"},
    {"precision": "fp16"},
]


@pytest.fixture(scope="module")
def keys(redis_server, models_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("keys")
    (root / "checkpoints").mkdir()
    for name in ("tiny", "other"):  # two checkpoints with different weights
        (root / "checkpoints" / name).symlink_to(models_dir / "checkpoints" / ("tiny" if name == "tiny" else "broken"))
    (root / "lora").symlink_to(models_dir / "lora")
    redis = Redis.from_url(redis_server.url)

    def make(**overrides: Any) -> RequestKeys:
        return RequestKeys(Settings(data_dir=root, models_dir=root, **overrides), redis, ModelRegistry(root))

    return make


def key_of(keys, request: dict[str, Any], **settings_overrides: Any) -> str:  # type: ignore[no-untyped-def]
    parsed = Txt2ImgRequest.model_validate({**BASE, **request})
    return keys(**settings_overrides).key(parsed, parsed.model or "tiny")


quick = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@quick
@given(change=st.sampled_from(PIXEL_CHANGES))
def test_any_pixel_relevant_change_changes_the_key(keys, change: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    assert key_of(keys, change) != key_of(keys, {})


@quick
@given(changes=st.lists(st.sampled_from(SAME_PIXELS), max_size=3))
def test_changes_that_leave_pixels_alone_keep_the_key(keys, changes: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    merged: dict[str, Any] = {}
    for change in changes:
        merged.update(change)
    assert key_of(keys, merged) == key_of(keys, {})


@quick
@given(change=st.sampled_from(SETTINGS_CHANGES))
def test_watermark_safety_and_device_settings_are_part_of_the_key(keys, change: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    assert key_of(keys, {}, **change) != key_of(keys, {})


def test_only_requests_with_an_explicit_seed_are_deterministic() -> None:
    assert is_deterministic(Txt2ImgRequest.model_validate(BASE))
    assert not is_deterministic(Txt2ImgRequest.model_validate({**BASE, "seed": -1}))
    assert is_deterministic(UpscaleRequest.model_validate({"image": "upl_" + "0" * 32}))


def write_job(outputs: Path, job_id: str, size: int) -> dict[str, Any]:
    (outputs / job_id / "thumbs").mkdir(parents=True)
    (outputs / job_id / "0.png").write_bytes(b"p" * size)
    (outputs / job_id / "thumbs" / "0.webp").write_bytes(b"w" * 10)
    image = {"index": 0, "seed": 1, "width": 8, "height": 8, "file": "0.png", "thumbnail": "thumbs/0.webp"}
    return {"images": [image], "seeds": [1], "model": "tiny", "device": "cpu", "timings": {}}


def test_the_store_evicts_the_least_recently_used_beyond_its_cap(redis_server, tmp_path: Path) -> None:
    store = CacheStore(Redis.from_url(redis_server.url), f"lru-{tmp_path.name}", tmp_path, 3600, max_bytes=2300)
    for name in ("a", "b"):
        store.put(name, name * 32, write_job(tmp_path, name * 32, 1000))
    assert store.stats() == {"entries": 2, "bytes": 2020}
    assert store.lookup("a") is not None  # a is now more recently used than b
    store.put("c", "c" * 32, write_job(tmp_path, "c" * 32, 1000))
    assert store.lookup("b") is None and store.lookup("a") is not None and store.lookup("c") is not None
    assert store.stats() == {"entries": 2, "bytes": 2020}
    (tmp_path / ("a" * 32) / "0.png").unlink()  # its job was deleted: the entry goes with the first lookup
    assert store.lookup("a") is None and store.stats()["entries"] == 1
    assert store.clear() == 1 and store.stats() == {"entries": 0, "bytes": 0}
