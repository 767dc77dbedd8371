"""Crafted .safetensors files, configs, sidecars, FIFOs and folders against the registry: each is one invalid entry
with a reason, found within a time bound, the good checkpoint listed beside it; a bad file costs its scan once."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from models import safetensors_header, scan, untrusted
from models.hashing import file_sha256
from models.registry import ModelRegistry
from models.untrusted import InvalidModel
from schemas.models import ModelType
from tests.unit.models import crafted
from tests.unit.models.conftest import GOOD, ScanCrafted

ST = "checkpoints/x.safetensors"
F16 = partial(crafted.entry, dtype="F16")


@pytest.mark.parametrize(
    ("header", "length", "words"),
    [
        ({}, 2**63, f"more than the {safetensors_header.MAX_HEADER_BYTES:,}-byte limit"),
        ({}, 2**64 - 1, "18,446,744,073,709,551,615 is more than"),  # -1 read as signed
        ({}, 1000, "does not fit"),
        (b"\xff\xfe not json", None, "not JSON"),
        ([], None, "not a JSON object"),
        ({"a": F16([2**61], [0, 2**62])}, None, "truncated"),
        ({"a": F16([1], [2, 0])}, None, "data_offsets"),
        ({"a": {"dtype": "F16", "shape": [1]}}, None, "data_offsets"),
        ({"a": F16([1], ["0", "2"])}, None, "data_offsets"),
        ({"a": F16([2**40, 2**40, 2**40], [0, 8])}, None, "more than 4 elements"),
        ({"a": F16([-1], [0, 2])}, None, "not a size"),
        ({"a": F16([1.5], [0, 2])}, None, "not a size"),
        (b'{"a": {"dtype": "F16", "shape": [1e400], "data_offsets": [0, 2]}}', None, "not a size"),
        ({"a": F16([1] * 17, [0, 2])}, None, f"at most {untrusted.MAX_DIMS} sizes"),
        ({"a": F16([1], [0, 4])}, None, "is not 4 bytes"),
        ({"a": {"dtype": 7, "shape": [1], "data_offsets": [0, 2]}}, None, "dtype"),
        ({"a": "F16"}, None, "not a JSON object"),
        ({"__metadata__": ["x"]}, None, "__metadata__"),
        (b"[" * 100 + b"]" * 100, None, f"more than the {untrusted.MAX_JSON_DEPTH} limit"),
        (b"[" + b"[]," * untrusted.MAX_JSON_CONTAINERS + b"[]]", None, "arrays and objects"),
    ],
    ids=[
        *("length-2^63", "length-negative", "length-past-end", "not-json", "a-list", "offsets-out-of-range"),
        *("offsets-reversed", "offsets-missing", "offsets-strings", "shape-product-overflow", "shape-negative"),
        *("shape-float", "shape-infinite", "too-many-dims", "size-mismatch", "dtype-not-a-string", "entry-string"),
        *("metadata-list", "deep", "container-flood"),
    ],
)
def test_a_crafted_safetensors_header_is_invalid_with_the_reason(
    scan_crafted: ScanCrafted, header: object, length: int | None, words: str
) -> None:
    """Nothing a header declares is trusted: length, JSON shape, offsets, shapes, dtypes, nesting."""
    build = partial(crafted.safetensors, header=header, data=b"\0" * 8, length=length)
    scan_crafted(ST, build, trace_memory=True).assert_invalid(words)


def test_a_header_listing_too_many_tensors_is_invalid(scan_crafted: ScanCrafted) -> None:
    """More than MAX_TENSORS declarations (each within the JSON limits) are refused."""
    header = {f"t{i}": F16([0], [0, 0]) for i in range(safetensors_header.MAX_TENSORS + 1)}
    build = partial(crafted.safetensors, header=header)
    scan_crafted(ST, build).assert_invalid(f"more than the {safetensors_header.MAX_TENSORS:,} limit")


def folder_with(config: str, content: bytes | str) -> Callable[[Path], None]:
    """A builder of a diffusers folder whose ``config`` file (relative) holds ``content``."""
    index = '{"_class_name": "StableDiffusionPipeline"}'

    def build(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "model_index.json").write_text(index)
        target = folder / config
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)

    return build


@pytest.mark.parametrize(
    ("config", "content", "words"),
    [
        ("model_index.json", "[" * 100_000, "nests 100000 levels deep"),
        ("model_index.json", b" " * (untrusted.MAX_CONFIG_BYTES + 1), "larger than the"),
        ("model_index.json", b'{"_class_name": "\xff"}', "not JSON"),
        ("model_index.json", "[1, 2]", "not a JSON object"),
        ("unet/config.json", '{"a":' * 1000 + "1" + "}" * 1000, "nests 1000 levels deep"),
        ("scheduler/scheduler_config.json", "{", "not JSON"),
    ],
    ids=["deep-index", "big-index", "bad-utf8", "index-a-list", "deep-unet-config", "broken-scheduler"],
)
def test_a_crafted_config_makes_its_folder_invalid(
    scan_crafted: ScanCrafted, config: str, content: bytes | str, words: str
) -> None:
    """Config JSON is read up to MAX_CONFIG_BYTES and parsed only within the nesting limits."""
    scan_crafted("checkpoints/x", folder_with(config, content)).assert_invalid(words)


def test_a_fifo_is_invalid_instead_of_blocking_the_scan(scan_crafted: ScanCrafted) -> None:
    """Opening a FIFO waits for a writer forever; only regular files are opened."""

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    scan_crafted(ST, fifo).assert_invalid("not a regular file")


def test_a_link_loop_is_invalid(scan_crafted: ScanCrafted) -> None:
    """A symbolic link to itself is an invalid entry, not an error of the listing."""
    scan_crafted(ST, lambda path: path.symlink_to(path.name)).assert_invalid("unreadable")


def test_a_folder_with_too_many_files_is_invalid(scan_crafted: ScanCrafted) -> None:
    """Folders are walked to MAX_FOLDER_ENTRIES files and folders, no further."""

    def build(folder: Path) -> None:
        folder_with("model_index.json", "{}")(folder)
        for index in range(untrusted.MAX_FOLDER_ENTRIES):
            (folder / f"f{index}").touch()

    scan_crafted("checkpoints/x", build).assert_invalid(f"more than {untrusted.MAX_FOLDER_ENTRIES:,} files")


def test_a_folder_nested_too_deep_is_invalid(scan_crafted: ScanCrafted) -> None:
    """Folders are walked to MAX_FOLDER_DEPTH levels."""
    deep = "/".join(["d"] * (untrusted.MAX_FOLDER_DEPTH + 1))
    build = folder_with(f"{deep}/f", "")
    scan_crafted("checkpoints/x", build).assert_invalid(f"more than {untrusted.MAX_FOLDER_DEPTH} deep")


def test_a_huge_sidecar_is_ignored_and_blank_lines_cost_linear_time(tmp_path: Path) -> None:
    """The sidecar .yaml is read up to MAX_SIDECAR_BYTES; a million blank lines before ``parameterization`` (which
    made the old pattern quadratic: hours) are searched at once."""
    folder = tmp_path / "checkpoints"
    crafted.safetensors(folder / "blank.safetensors", GOOD, b"\0" * 4)
    (folder / "blank.yaml").write_text("\n" * 200_000 + "parameterization: v\n")
    crafted.safetensors(folder / "big.safetensors", GOOD, b"\0" * 4)
    (folder / "big.yaml").write_text("parameterization: v\n" + " " * scan.MAX_SIDECAR_BYTES)
    registry = ModelRegistry(tmp_path)
    assert registry.get("checkpoint:blank").prediction == "v_prediction"
    assert registry.get("checkpoint:big").prediction is None


def counting_describe(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every entry detection runs for."""
    seen: list[str] = []
    real = scan.describe

    def describe(path: Path, folder_type: ModelType):  # type: ignore[no-untyped-def]
        seen.append(path.name)
        return real(path, folder_type)

    monkeypatch.setattr(scan, "describe", describe)
    return seen


def test_good_and_bad_files_are_scanned_once_until_they_change(tmp_path: Path, monkeypatch) -> None:
    """One cache for both: a rescan reads neither again; changing the bad file (size or mtime_ns) rescans it."""
    seen = counting_describe(monkeypatch)
    crafted.safetensors(tmp_path / "checkpoints" / "good.safetensors", GOOD, b"\0" * 4)
    bad = crafted.ckpt(tmp_path / "checkpoints" / "bad.ckpt", crafted.cyclic_state_dict())
    registry = ModelRegistry(tmp_path)
    registry.refresh()
    registry.refresh()
    assert sorted(seen) == ["bad.ckpt", "good.safetensors"]
    os.utime(bad, ns=(0, bad.stat().st_mtime_ns + 1))
    registry.refresh()
    assert registry.get("checkpoint:bad").status == "invalid"
    crafted.ckpt(bad, crafted.state_dict({}))
    registry.refresh()
    assert registry.get("checkpoint:bad").status == "valid"
    assert sorted(seen) == ["bad.ckpt", "bad.ckpt", "bad.ckpt", "good.safetensors"]


@pytest.mark.parametrize(
    "error",
    [
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
        ValueError("bad value"),
        zipfile.BadZipFile("Bad CRC-32"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        json.JSONDecodeError("Expecting value", "{", 1),
        KeyError("data_offsets"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_whatever_detection_raises_makes_just_that_entry_invalid(tmp_path: Path, monkeypatch, error) -> None:
    """The per-entry boundary: any exception from one file's detection is that file's invalid entry with a
    reason in words; the listing answers and lists the others."""
    real = scan.describe

    def describe(path: Path, folder_type: ModelType):  # type: ignore[no-untyped-def]
        if path.stem == "bad":
            raise error
        return real(path, folder_type)

    monkeypatch.setattr(scan, "describe", describe)
    crafted.safetensors(tmp_path / "checkpoints" / "good.safetensors", GOOD, b"\0" * 4)
    crafted.safetensors(tmp_path / "checkpoints" / "bad.safetensors", GOOD, b"\0" * 4)
    listed = {e.id: e for e in ModelRegistry(tmp_path).refresh()}
    assert listed["checkpoint:good"].status == "valid"
    assert listed["checkpoint:bad"].status == "invalid"
    assert listed["checkpoint:bad"].reason and len(listed["checkpoint:bad"].reason) <= scan.MAX_REASON_CHARS


def test_an_unreadable_file_is_retried_not_cached(tmp_path: Path, monkeypatch) -> None:
    """An OSError (a permission, a disk error) may pass: that invalid entry is detected again on the next scan."""
    real, failures = scan.describe, [PermissionError(13, "Permission denied")]

    def describe(path: Path, folder_type: ModelType):  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()
        return real(path, folder_type)

    monkeypatch.setattr(scan, "describe", describe)
    crafted.safetensors(tmp_path / "checkpoints" / "good.safetensors", GOOD, b"\0" * 4)
    registry = ModelRegistry(tmp_path)
    assert registry.get("checkpoint:good").reason == "unreadable: Permission denied"
    registry.refresh()
    assert registry.get("checkpoint:good").status == "valid"


def test_hashing_refuses_a_fifo_instead_of_blocking(tmp_path: Path) -> None:
    """The file hash opens regular files only: a FIFO swapped in after the scan is refused, not waited on."""
    os.mkfifo(tmp_path / "swapped.safetensors")
    with pytest.raises(InvalidModel, match="not a regular file"):
        file_sha256(tmp_path / "swapped.safetensors")
