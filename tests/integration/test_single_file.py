"""Single-file checkpoints through the API and the real worker: listed, hashed, generated with, and refused at
submit when no config folder fits their architecture."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def single_files(models_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A models folder with the tiny model as a diffusers folder, as one .safetensors and as one .ckpt (original
    layout), single files of other architectures; and a configs folder whose sd1/ is the tiny model's config."""
    from tests.builders.single_file import write_tiny_config, write_tiny_single_file
    from tests.unit.models.test_registry import write_safetensors

    own = tmp_path / "models"
    shutil.copytree(models_dir / "checkpoints" / "tiny", own / "checkpoints" / "tiny")
    write_tiny_single_file(own / "checkpoints" / "single.safetensors")
    write_tiny_single_file(own / "checkpoints" / "pickled.ckpt")
    write_safetensors(own / "checkpoints" / "sd3.safetensors", {"joint_blocks.0.x_block.attn.qkv.weight": [6, 2]})
    write_safetensors(own / "checkpoints" / "flux.safetensors", {"double_blocks.0.img_attn.qkv.weight": [6, 2]})
    write_safetensors(own / "checkpoints" / "mystery.safetensors", {"some.tensor": [2]})
    configs = write_tiny_config(tmp_path / "configs" / "sd1").parent
    return {"models": own, "configs": configs}


def pixels(stack: Stack, view: dict) -> np.ndarray:
    data = requests.get(stack.url(view["images"][0]["url"]), timeout=10).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_a_single_file_is_listed_hashed_and_generates_like_the_folder(make_stack, single_files) -> None:
    stack = make_stack(
        SDQ_MODELS_DIR=str(single_files["models"]),
        SDQ_SINGLE_FILE_CONFIGS=str(single_files["configs"]),
        SDQ_DEFAULT_MODEL="tiny",
    )
    entry = stack.get("/api/v1/models/checkpoint:single")
    assert (entry["type"], entry["arch"], entry["format"], entry["status"]) == (
        "checkpoint",
        "sd1",
        "safetensors",
        "valid",
    )
    assert entry["path"] == "checkpoints/single.safetensors"
    expected = hashlib.sha256((single_files["models"] / entry["path"]).read_bytes()).hexdigest()
    hashed = requests.post(stack.url("/api/v1/models/checkpoint:single/hash"), timeout=30).json()
    assert (hashed["sha256"], hashed["short_hash"]) == (expected, expected[:10])
    assert stack.get("/api/v1/models/checkpoint:pickled")["arch"] == "sd1"

    folder, single, pickled = (stack.run(model=name, seed=33) for name in ("tiny", "single", "pickled"))
    assert [v["status"] for v in (folder, single, pickled)] == ["finished"] * 3, single.get("error")
    assert len(single["images"]) == 1
    assert np.array_equal(pixels(stack, folder), pixels(stack, single))
    assert np.array_equal(pixels(stack, folder), pixels(stack, pickled))
    cached = list((stack.data_dir / "cache" / "configs").iterdir())
    assert [p.name.startswith("sd1-") for p in cached] == [True]  # one folder, materialised once


@pytest.mark.parametrize(("name", "arch"), [("sd3", "sd3"), ("flux", "flux"), ("mystery", "unknown")])
def test_single_files_of_other_architectures_are_refused_naming_model(make_stack, single_files, name, arch) -> None:
    stack = make_stack(worker=False, SDQ_MODELS_DIR=str(single_files["models"]), SDQ_DEFAULT_MODEL="tiny")
    assert stack.get(f"/api/v1/models/checkpoint:{name}")["arch"] == arch
    refused = stack.submit(model=name)
    assert refused.status_code == 422
    error = refused.json()["errors"][0]
    assert error["loc"] == ["body", "model"]
    assert name in error["msg"] and "sd1, sd2, sdxl" in error["msg"]
    load = requests.post(stack.url(f"/api/v1/models/checkpoint:{name}/load"), timeout=10)
    assert load.status_code == 422 and load.json()["errors"][0]["loc"] == ["path", "model_id"]
