"""The torch-free registry: listing, lookup, default resolution, refusal of unsafe names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.registry import find_checkpoint, list_checkpoints, resolve_model_name
from schemas.errors import ModelNotFound


def add_model(root: Path, name: str, index: object | None = None) -> Path:
    folder = root / "checkpoints" / name
    folder.mkdir(parents=True)
    payload = index if index is not None else {"_class_name": "StableDiffusionPipeline", "unet": ["a", "b"]}
    (folder / "model_index.json").write_text(json.dumps(payload))
    return folder


def test_lists_only_diffusers_folders_sorted(tmp_path: Path) -> None:
    add_model(tmp_path, "zeta")
    add_model(tmp_path, "alpha")
    (tmp_path / "checkpoints" / "no-index").mkdir()
    (tmp_path / "checkpoints" / "file.safetensors").write_bytes(b"x")
    found = list_checkpoints(tmp_path)
    assert [c.name for c in found] == ["alpha", "zeta"]
    assert found[0].pipeline_class == "StableDiffusionPipeline"
    assert found[0].components == ("unet",)


def test_missing_models_dir_lists_nothing(tmp_path: Path) -> None:
    assert list_checkpoints(tmp_path / "nowhere") == []


def test_unreadable_index_is_listed_without_class(tmp_path: Path) -> None:
    folder = add_model(tmp_path, "odd")
    (folder / "model_index.json").write_text("{not json")
    assert find_checkpoint(tmp_path, "odd").pipeline_class is None


@pytest.mark.parametrize("name", ["missing", "../checkpoints/alpha", "alpha/..", ".alpha", "/etc"])
def test_unknown_or_unsafe_names_raise_naming_model(tmp_path: Path, name: str) -> None:
    add_model(tmp_path, "alpha")
    with pytest.raises(ModelNotFound) as info:
        find_checkpoint(tmp_path, name)
    assert info.value.errors[0].loc == ["body", "model"]
    assert "alpha" in info.value.errors[0].msg


def test_resolution_order(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model is installed"):
        resolve_model_name(tmp_path, None, None)
    add_model(tmp_path, "only")
    assert resolve_model_name(tmp_path, None, None) == "only"
    add_model(tmp_path, "second")
    with pytest.raises(ModelNotFound, match="several models"):
        resolve_model_name(tmp_path, None, None)
    assert resolve_model_name(tmp_path, None, "second") == "second"
    assert resolve_model_name(tmp_path, "only", "second") == "only"
    with pytest.raises(ModelNotFound):
        resolve_model_name(tmp_path, None, "gone")
