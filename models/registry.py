"""Torch-free view of the installed models: scans folders and reads JSON, never loads tensors.

The API uses it to refuse unknown models at submit time; the worker uses it to find the folder to load.
A checkpoint is a diffusers folder ``<models_dir>/checkpoints/<name>/`` holding ``model_index.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import ModelNotFound
from schemas.generation import MODEL_NAME_PATTERN

_NAME = re.compile(MODEL_NAME_PATTERN)


@dataclass(frozen=True)
class Checkpoint:
    name: str
    path: Path
    pipeline_class: str | None
    components: tuple[str, ...]


def is_valid_name(name: str) -> bool:
    """A model name is one path component of safe characters (no separators, no leading dot)."""
    return bool(_NAME.fullmatch(name))


def _read_checkpoint(folder: Path) -> Checkpoint:
    """Read ``model_index.json``: the pipeline class and component names (unreadable: none known)."""
    try:
        data = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        return Checkpoint(folder.name, folder, None, ())
    class_name = data.get("_class_name")
    components = tuple(key for key in data if not key.startswith("_"))
    return Checkpoint(folder.name, folder, class_name if isinstance(class_name, str) else None, components)


def list_checkpoints(models_dir: Path) -> list[Checkpoint]:
    """Installed checkpoints, sorted by name."""
    root = models_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = [
        _read_checkpoint(entry)
        for entry in sorted(root.iterdir())
        if entry.is_dir() and is_valid_name(entry.name) and (entry / "model_index.json").is_file()
    ]
    return found


def find_checkpoint(models_dir: Path, name: str) -> Checkpoint:
    """The checkpoint called ``name``; :class:`ModelNotFound` naming the field ``model`` otherwise."""
    folder = models_dir / "checkpoints" / name
    if not is_valid_name(name) or not (folder / "model_index.json").is_file():
        available = ", ".join(c.name for c in list_checkpoints(models_dir)) or "none installed"
        raise ModelNotFound.for_field(["body", "model"], f"unknown model {name!r}; available: {available}")
    return _read_checkpoint(folder)


def resolve_model_name(models_dir: Path, requested: str | None, default: str | None) -> str:
    """The concrete model for a request: the one named, else the default, else the only installed one."""
    if requested is not None:
        return find_checkpoint(models_dir, requested).name
    if default is not None:
        return find_checkpoint(models_dir, default).name
    installed = list_checkpoints(models_dir)
    if len(installed) == 1:
        return installed[0].name
    if not installed:
        msg = "no model is installed; add a diffusers folder under models/checkpoints/ (or run sdqueue up --demo)"
    else:
        msg = "several models are installed and no default is set; name one: " + ", ".join(c.name for c in installed)
    raise ModelNotFound.for_field(["body", "model"], msg)
