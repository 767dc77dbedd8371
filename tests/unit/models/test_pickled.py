"""Reading .ckpt files without unpickling them, and what the registry makes of single files' contents."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from models.pickled import read_ckpt_header
from models.registry import ModelRegistry
from schemas.errors import RequestInvalid
from schemas.models import Arch

PROBE = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
SD2_KEYS = {
    "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
    "cond_stage_model.model.token_embedding.weight": torch.zeros(8, 4),
}


def test_names_shapes_and_dtypes_come_from_the_pickle(tmp_path: Path) -> None:
    layer = torch.nn.Linear(3, 4).half()
    state = {"w": layer.weight, "b": torch.zeros(2, dtype=torch.bfloat16), "f": torch.ones(5, 6)[:, 1]}
    torch.save({"state_dict": state, "global_step": 7, "extra": [1, {"x": 2}]}, tmp_path / "m.ckpt")
    header = read_ckpt_header(tmp_path / "m.ckpt")
    assert header is not None
    assert {k: (v["dtype"], v["shape"]) for k, v in header.items()} == {
        "w": ("F16", [4, 3]),
        "b": ("BF16", [2]),
        "f": ("F32", [5]),
    }


class Payload:
    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {Payload.marker}",))

    marker = ""


def zipped_pickle(path: Path, obj: object) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
    return path


def test_a_malicious_pickle_is_read_not_run(tmp_path: Path) -> None:
    Payload.marker = str(tmp_path / "ran")
    assert read_ckpt_header(zipped_pickle(tmp_path / "evil.ckpt", Payload())) is None
    header = read_ckpt_header(zipped_pickle(tmp_path / "inside.ckpt", {"state_dict": {"w": Payload()}}))
    assert header == {}
    assert not (tmp_path / "ran").exists()


def test_legacy_and_unreadable_ckpt_are_listed_with_unknown_arch(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    torch.save({"w": torch.zeros(2)}, folder / "old.ckpt", _use_new_zipfile_serialization=False)
    (folder / "noise.ckpt").write_bytes(b"PK\x03\x04 not really a zip")
    registry = ModelRegistry(tmp_path)
    for name in ("old", "noise"):
        entry = registry.get(f"checkpoint:{name}")
        assert entry is not None and (entry.status, entry.arch, entry.format) == ("valid", Arch.UNKNOWN, "ckpt")
    with pytest.raises(RequestInvalid, match="unknown architecture"):
        registry.resolve_checkpoint("old", None)


def test_a_tiny_ckpt_is_detected_and_loadable(tmp_path: Path) -> None:
    from tests.builders.single_file import write_tiny_single_file

    write_tiny_single_file(tmp_path / "checkpoints" / "pickled.ckpt")
    entry = ModelRegistry(tmp_path).resolve_checkpoint("pickled", None)
    assert (entry.format, entry.arch, entry.inpaint, entry.status) == ("ckpt", Arch.SD1, False, "valid")


@pytest.mark.parametrize(("spread", "prediction"), [(0.5, "v_prediction"), (0.01, "epsilon")])
@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_sd2_prediction_follows_the_norm_bias_heuristic(tmp_path: Path, spread, prediction, suffix) -> None:
    tensors = {**SD2_KEYS, PROBE: torch.linspace(-spread, spread, 320, dtype=torch.float16)}
    path = tmp_path / "checkpoints" / f"m{suffix}"
    path.parent.mkdir()
    if suffix == ".ckpt":
        torch.save({"state_dict": tensors}, path)
    else:
        save_file(tensors, str(path))
    entry = ModelRegistry(tmp_path).get("checkpoint:m")
    assert entry is not None and (entry.arch, entry.prediction) == (Arch.SD2, prediction)


def test_v_pred_key_and_a1111_yaml_sidecar_set_the_prediction(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    xl = {"conditioner.embedders.1.model.ln_final.weight": torch.zeros(2), "v_pred": torch.zeros(0)}
    save_file(xl, str(folder / "xl-v.safetensors"))
    save_file({**SD2_KEYS, PROBE: torch.linspace(-1, 1, 8)}, str(folder / "base.safetensors"))
    (folder / "base.yaml").write_text('model:\n  params:\n    parameterization: "eps"\n    linear_start: 0.00085\n')
    save_file(
        {**SD2_KEYS, "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 9, 3, 3)},
        str(folder / "fill.safetensors"),
    )
    registry = ModelRegistry(tmp_path)
    assert registry.get("checkpoint:xl-v").prediction == "v_prediction"
    assert registry.get("checkpoint:base").prediction == "epsilon"
    assert registry.checkpoint("base").prediction == "epsilon"
    assert registry.get("checkpoint:fill").prediction == "epsilon"
    (folder / "base.yaml").write_text("model:\n  params:\n    parameterization: v\n")
    assert registry.get("checkpoint:base", rescan=False).prediction == "epsilon"  # until the next scan
    registry.refresh()
    assert registry.get("checkpoint:base").prediction == "v_prediction"
    assert "yaml" not in {e.format for e in registry.entries()}
