"""Torch-free view of the installed models: scans the type folders, detects what each entry is, never loads
tensors. The API lists and validates against it; the worker finds what to load through it.

Layout: ``<models_dir>/<type folder>/<name>[.ext]`` for the folders in ``schemas.models.TYPE_FOLDERS``; an entry is
a file with a known extension or a diffusers folder (``model_index.json``, or a component folder with
``config.json``). Hub ids listed in ``SDQ_HUB_MODELS`` are checkpoint entries too. Ids are ``<type>:<name>``.
Detection (``models.scan``) treats every file as untrusted input: a corrupt, hostile or unreadable one is an
``invalid`` entry with a reason, never an error of the listing. Entries are cached per path and (size, mtime_ns),
so a rescan reads only new or changed files.

Loadable checkpoints: diffusers folders, hub ids, and single files (``.safetensors``, ``.ckpt``) of the
architectures with a config folder shipped in ``models/configs`` (sd1, sd2, sdxl). A single-file checkpoint's
prediction type can be set by an AUTOMATIC1111-style ``<name>.yaml`` next to it (``parameterization: "v"``).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from models.scan import SINGLE_FILE_FORMATS, TEXT_SUFFIXES, EntryCache
from models.untrusted import MAX_LISTED, list_folder
from schemas.errors import FieldPath, ModelNotFound, RequestInvalid, body_loc
from schemas.models import TYPE_FOLDERS, Arch, ModelEntry, ModelType
from schemas.requests import MODEL_NAME_PATTERN

log = logging.getLogger(__name__)

_NAME = re.compile(MODEL_NAME_PATTERN)
WEIGHT_SUFFIXES = {".safetensors", ".ckpt", ".pt", ".pth", ".bin"}
_TEXT_TYPES = {ModelType.PRESET, ModelType.PROMPT, ModelType.NEG_PROMPT}
LOADABLE_FORMATS = {"diffusers", "hub"}
SINGLE_FILE_ARCHS = (Arch.SD1, Arch.SD2, Arch.SDXL)


def is_valid_name(name: str) -> bool:
    """A model name is one path component of safe characters (no separators, no leading dot)."""
    return bool(_NAME.fullmatch(name))


@dataclass(frozen=True)
class Checkpoint:
    """What the worker needs to load a checkpoint."""

    name: str
    path: Path
    format: str
    arch: Arch
    has_safety_checker: bool = False
    inpaint: bool = False
    prediction: str | None = None

    @property
    def is_single_file(self) -> bool:
        return self.format in SINGLE_FILE_FORMATS


def _is_candidate(path: Path, folder_type: ModelType) -> bool:
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return (path / "model_index.json").is_file() or (path / "config.json").is_file()
    allowed = TEXT_SUFFIXES if folder_type in _TEXT_TYPES else WEIGHT_SUFFIXES
    return path.suffix.lower() in allowed


class ModelRegistry:
    """Scans on demand and caches detections; thread-safe for the API's thread pool."""

    def __init__(self, models_dir: Path, hub_models: list[str] | None = None) -> None:
        self.models_dir = models_dir
        self.hub_models = hub_models or []
        self._cache = EntryCache(models_dir)
        self._entries: dict[str, ModelEntry] = {}
        self._lock = threading.Lock()
        self._scanned = False

    def refresh(self) -> list[ModelEntry]:
        entries: dict[str, ModelEntry] = {}
        seen: set[str] = set()
        for folder_name, folder_type in TYPE_FOLDERS.items():
            for path in self._candidates(self.models_dir / folder_name, folder_type):
                seen.add(str(path))
                entry = self._cache.entry(path, folder_type)
                if entry is not None:
                    entries.setdefault(entry.id, entry)
        self._cache.keep_only(seen)
        for hub_id in self.hub_models:
            name = hub_id.rsplit("/", 1)[-1]
            entries.setdefault(
                f"checkpoint:{name}",
                ModelEntry(
                    id=f"checkpoint:{name}",
                    name=name,
                    type=ModelType.CHECKPOINT,
                    format="hub",
                    arch=Arch.UNKNOWN,
                    path=hub_id,
                    size_bytes=0,
                    status="valid",
                ),
            )
        with self._lock:
            self._entries = entries
            self._scanned = True
        return list(entries.values())

    @staticmethod
    def _candidates(root: Path, folder_type: ModelType) -> list[Path]:
        """The entries of one type folder worth detecting (at most ``MAX_LISTED`` looked at)."""
        if not root.is_dir():
            return []
        try:
            paths, more = list_folder(root)
        except OSError as exc:
            log.warning("models folder %s is unreadable: %s", root.name, exc.strerror)
            return []
        if more:
            log.warning("models folder %s holds more than %d entries; the others are not listed", root.name, MAX_LISTED)
        return [p for p in paths if _is_candidate(p, folder_type) and is_valid_name(p.name if p.is_dir() else p.stem)]

    def entries(self) -> list[ModelEntry]:
        if not self._scanned:
            return self.refresh()
        return list(self._entries.values())

    def get(self, model_id: str, *, rescan: bool = True) -> ModelEntry | None:
        entry = self._entries.get(model_id) if self._scanned else None
        if entry is None and rescan:
            self.refresh()
            entry = self._entries.get(model_id)
        return entry

    def checkpoints(self) -> list[ModelEntry]:
        """Valid checkpoints, from a fresh scan (choosing a default must see models added a moment ago)."""
        return sorted(
            (e for e in self.refresh() if e.type is ModelType.CHECKPOINT and e.status == "valid"), key=lambda e: e.name
        )

    def find(self, model_type: ModelType, name: str, field: FieldPath) -> ModelEntry:
        """The valid entry of that type and name; ModelNotFound naming ``field`` otherwise."""
        entry = self.get(f"{model_type.value}:{name}") if is_valid_name(name) else None
        if entry is None or entry.status != "valid":
            known = [e.name for e in self.entries() if e.type is model_type and e.status == "valid"]
            why = f" ({entry.reason})" if entry is not None and entry.reason else ""
            raise ModelNotFound.for_field(
                body_loc(field), f"unknown {model_type.value} {name!r}{why}; available: {', '.join(known) or 'none'}"
            )
        return entry

    def resolve_checkpoint(self, requested: str | None, default: str | None) -> ModelEntry:
        """The checkpoint for a request: the one named, else the default, else the only installed one."""
        if requested is not None:
            return self._loadable(self.find(ModelType.CHECKPOINT, requested, "model"))
        if default is not None:
            return self._loadable(self.find(ModelType.CHECKPOINT, default, "model"))
        installed = self.checkpoints()
        if len(installed) == 1:
            return self._loadable(installed[0])
        if not installed:
            msg = "no model is installed; add a diffusers folder under models/checkpoints/ (or run sdqueue up --demo)"
        else:
            msg = "several models are installed and no default is set; name one: " + ", ".join(
                c.name for c in installed
            )
        raise ModelNotFound.for_field(["body", "model"], msg)

    @staticmethod
    def _loadable(entry: ModelEntry, loc: tuple[str, str] = ("body", "model")) -> ModelEntry:
        """The entry when the worker can load it; RequestInvalid naming ``loc`` (the ``model`` field) otherwise."""
        if entry.format in LOADABLE_FORMATS:
            return entry
        if entry.format in SINGLE_FILE_FORMATS and entry.arch in SINGLE_FILE_ARCHS:
            return entry
        loadable = ", ".join(a.value for a in SINGLE_FILE_ARCHS)
        if entry.format in SINGLE_FILE_FORMATS:
            what = (
                f"of architecture {entry.arch.value}" if entry.arch is not Arch.UNKNOWN else "of unknown architecture"
            )
            msg = (
                f"{entry.name} is a single-file .{entry.format} checkpoint {what}; single files load for {loadable} "
                "(use a diffusers folder for other architectures)"
            )
        else:
            msg = (
                f"{entry.name} is a .{entry.format} file; checkpoints load from diffusers folders, hub ids and "
                f".safetensors/.ckpt single files ({loadable})"
            )
        raise RequestInvalid.for_field(list(loc), msg)

    def ensure_loadable(self, entry: ModelEntry, loc: tuple[str, str]) -> ModelEntry:
        return self._loadable(entry, loc)

    def find_checkpoint_entry(self, name: str) -> ModelEntry:
        return self.find(ModelType.CHECKPOINT, name, "model")

    def checkpoint(self, name: str) -> Checkpoint:
        entry = self.find_checkpoint_entry(name)
        path = Path(entry.path) if entry.format == "hub" else self.models_dir / entry.path
        safety = (path / "safety_checker").is_dir() if entry.format == "diffusers" else False
        return Checkpoint(entry.name, path, entry.format, entry.arch, safety, entry.inpaint, entry.prediction)
