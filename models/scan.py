"""One registry entry per file or folder of the models folder: detected without ever raising, and cached.

Detection reads bytes that anyone who can write to the models folder controls; the readers bound their work
(``models.untrusted`` lists them). Whatever still goes wrong with one entry -- a limit, a malformed header, an
unreadable file, a reader's own failure (``RecursionError``, ``MemoryError``, ``ValueError``, a zip or JSON or UTF-8
error) -- makes that one entry ``invalid`` with a reason; the listing and the other entries are unaffected.

Entries, good and bad alike, are cached per path with the fingerprint they were detected at: a file's size and
``mtime_ns`` (plus its sidecar ``.yaml``'s, for single-file checkpoints), a folder's file count, total size and
newest ``mtime_ns``. A file costs its scan once until it changes. Failures to read at all (``OSError``: a
permission, a disk error) are not cached: they may pass.
"""

from __future__ import annotations

import logging
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.detect import (
    Detection,
    InvalidModel,
    detect_ckpt,
    detect_diffusers_component,
    detect_diffusers_pipeline,
    detect_safetensors,
)
from models.untrusted import read_bounded, summarize_folder
from schemas.models import Arch, ModelEntry, ModelType

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".json", ".yaml", ".yml", ".txt"}
SINGLE_FILE_FORMATS = {"safetensors", "ckpt"}
# Reasons are shown in lists and error messages: a sentence, not an exception dump.
MAX_REASON_CHARS = 300
# A1111's LDM configs (v1-inference.yaml, v2-inference-v.yaml) are ~2 KB.
MAX_SIDECAR_BYTES = 256 * 1024
# [ \t]*, not \s*: a \s* at a line start runs over every following blank line, so the search grows quadratic.
_PARAMETERIZATION = re.compile(r"^[ \t]*parameterization:[ \t]*[\"']?(\w+)", re.MULTILINE)
_PREDICTIONS = {"v": "v_prediction", "eps": "epsilon", "epsilon": "epsilon", "v_prediction": "v_prediction"}

Fingerprint = tuple[int, ...]


def describe(path: Path, folder_type: ModelType) -> tuple[ModelType, str, Detection]:
    """(type, format, detection) of one entry; raises when it is corrupt (``InvalidModel``) or worse."""
    if path.is_dir():
        if (path / "model_index.json").is_file():
            return folder_type, "diffusers", detect_diffusers_pipeline(path)
        kind, detection = detect_diffusers_component(path, folder_type)
        return kind, "diffusers", detection
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        kind, detection = detect_safetensors(path, folder_type)
        return kind, "safetensors", detection
    if suffix == ".ckpt":
        kind, detection = detect_ckpt(path, folder_type)
        return kind, "ckpt", detection
    if suffix in TEXT_SUFFIXES:
        return folder_type, suffix.lstrip(".").replace("yml", "yaml"), Detection(Arch.UNKNOWN)
    if path.stat().st_size == 0:
        raise InvalidModel("empty file")
    arch = Arch.UPSCALER if folder_type is ModelType.UPSCALER else Arch.UNKNOWN
    return folder_type, suffix.lstrip("."), Detection(arch)


def sidecar_prediction(path: Path) -> str | None:
    """The prediction type an A1111-style ``<name>.yaml`` next to a single file sets (``parameterization``)."""
    sidecar = path.with_suffix(".yaml")
    if not sidecar.is_file():
        return None
    try:
        text = read_bounded(sidecar, MAX_SIDECAR_BYTES).decode("utf-8", errors="replace")
    except (OSError, InvalidModel):
        return None
    found = _PARAMETERIZATION.search(text)
    return _PREDICTIONS.get(found.group(1)) if found else None


def _is_single_file(path: Path) -> bool:
    return path.suffix.lower() in (".safetensors", ".ckpt")


def fingerprint(path: Path) -> tuple[Fingerprint, int, int]:
    """(fingerprint, size, mtime_ns) of an entry; a folder's are those of the files in it."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        summary = summarize_folder(path)
        return (len(summary.files), summary.size, summary.mtime_ns), summary.size, summary.mtime_ns
    found: Fingerprint = (info.st_size, info.st_mtime_ns)
    sidecar = path.with_suffix(".yaml")
    if _is_single_file(path) and sidecar.exists():
        side = sidecar.stat()
        found += (side.st_size, side.st_mtime_ns)
    return found, info.st_size, info.st_mtime_ns


def reason(exc: BaseException) -> str:
    """Why an entry is invalid, in words, at most ``MAX_REASON_CHARS`` long."""
    if isinstance(exc, InvalidModel):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = f"unreadable: {exc.strerror or exc}"
    elif isinstance(exc, RecursionError):
        text = "unreadable: nested too deeply"
    elif isinstance(exc, MemoryError):
        text = "unreadable: reading it ran out of memory"
    else:
        text = f"unreadable ({type(exc).__name__}: {exc})"
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def _modified_at(mtime_ns: int | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(mtime_ns / 1e9, UTC) if mtime_ns is not None else None
    except (OverflowError, ValueError, OSError):  # a timestamp out of datetime's range
        return None


def _common(path: Path, relative: str, size: int, mtime_ns: int | None) -> dict[str, Any]:
    name = path.name if path.is_dir() else path.stem
    return {"name": name, "path": relative, "size_bytes": size, "modified_at": _modified_at(mtime_ns)}


def detect_entry(path: Path, folder_type: ModelType, common: dict[str, Any]) -> ModelEntry:
    """The valid entry of one file or folder, with what detection found; raises when it is not valid."""
    kind, fmt, detection = describe(path, folder_type)
    prediction = detection.prediction
    if kind is ModelType.CHECKPOINT and fmt in SINGLE_FILE_FORMATS:
        prediction = sidecar_prediction(path) or prediction
    return ModelEntry(
        id=f"{kind.value}:{common['name']}",
        type=kind,
        format=fmt,
        arch=detection.arch,
        inpaint=detection.inpaint,
        prediction=prediction,
        variant=detection.variant,
        status="valid",
        **common,
    )


def invalid_entry(path: Path, folder_type: ModelType, common: dict[str, Any], exc: BaseException) -> ModelEntry:
    why = reason(exc)
    log.warning("model %s is invalid: %s", common["path"], why)
    return ModelEntry(
        id=f"{folder_type.value}:{common['name']}",
        type=folder_type,
        format="diffusers" if path.is_dir() else path.suffix.lstrip(".").lower() or "unknown",
        arch=Arch.UNKNOWN,
        status="invalid",
        reason=why,
        **common,
    )


class EntryCache:
    """Entries by path, each with the fingerprint it was detected at; safe to share between threads (a lookup or
    a store is one dict operation, and two threads detecting one file at once store equal entries)."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._by_path: dict[str, tuple[Fingerprint, ModelEntry]] = {}

    def entry(self, path: Path, folder_type: ModelType) -> ModelEntry | None:
        """The entry of ``path`` (detected now if it is new or changed); None when it vanished meanwhile. This is
        the boundary: whatever detecting one entry raises makes that entry invalid, and goes no further."""
        relative = str(path.relative_to(self.models_dir))
        try:
            found, size, mtime_ns = fingerprint(path)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a link loop, a folder past its limits: walked again next time (bounded)
            return invalid_entry(path, folder_type, _common(path, relative, 0, None), exc)
        cached = self._by_path.get(str(path))
        if cached is not None and cached[0] == found:
            return cached[1]
        common = _common(path, relative, size, mtime_ns)
        try:
            entry = detect_entry(path, folder_type, common)
        except OSError as exc:  # may pass (a permission, a disk error): not cached
            return invalid_entry(path, folder_type, common, exc)
        except Exception as exc:
            entry = invalid_entry(path, folder_type, common, exc)
        self._by_path[str(path)] = (found, entry)
        return entry

    def keep_only(self, paths: set[str]) -> None:
        """Forget the entries of paths no longer there (the cache holds what the folders hold, no more)."""
        self._by_path = {path: value for path, value in self._by_path.items() if path in paths}
