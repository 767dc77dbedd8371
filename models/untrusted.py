"""Reading bytes from the models folder, which anyone who can drop a file there controls (torch-free).

Every reader of model files goes through here or sets its own limits next to its format (``models.archive`` for
zips, ``models.pickle_machine`` for pickles, ``models.safetensors_header``): a file is opened only when it is a
regular file (opening a FIFO blocks until a writer comes), read only up to a limit that is checked before the bytes
are, JSON is parsed only once its nesting depth and container count are known to be small, and folders are walked
to a bounded depth and number of files without following links. A file past a limit is corrupt for the registry:
``InvalidModel``, whose message (the entry's ``reason``) says which limit.
"""

from __future__ import annotations

import json
import os
import stat
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

# JSON (model_index.json, config.json, scheduler configs, safetensors headers). Real configs and headers nest less
# than 6 deep (header -> tensor -> shape); kohya's metadata strings hold JSON too and add brackets of their own.
MAX_JSON_DEPTH = 64
# A safetensors header has three containers per tensor (entry, shape, offsets): 2**17 is ~43,000 tensors, 17x an
# SDXL checkpoint. Bounds what parsing can build: an empty list costs 56 bytes from 3 bytes of JSON.
MAX_JSON_CONTAINERS = 2**17
# Diffusers and transformers configs are a few KB (the biggest, with label maps, ~100 KB).
MAX_CONFIG_BYTES = 1024 * 1024
# A diffusers folder holds ~30 files and folders (sharded weights a few more; a git clone of one, ~150 with .git)
# at most 3 levels deep (6 in a git clone's .git/lfs/objects).
MAX_FOLDER_ENTRIES = 2048
MAX_FOLDER_DEPTH = 8
# A type folder (checkpoints/, lora/, ...) of a big collection holds some thousands of models.
MAX_LISTED = 10_000
# Tensors in image models have at most 5 dimensions (conv weights 4, some attention 5).
MAX_DIMS = 16

_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 opening, -1 closing
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class InvalidModel(Exception):
    """The file or folder is corrupt, truncated or past a limit; the message says why."""


def open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for reading, if it is a regular file (links followed); never blocks on a FIFO or device.

    Checked before opening (a device is never opened) and again on what was opened (the path may change between);
    O_NONBLOCK makes that open return at once even if a FIFO took the file's place."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise InvalidModel(f"{path.name} is not a regular file")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise InvalidModel(f"{path.name} is not a regular file")
    return os.fdopen(descriptor, "rb")


def read_bounded(path: Path, limit: int) -> bytes:
    """The whole file, when it has at most ``limit`` bytes (checked on what is read, not on what stat says)."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InvalidModel(f"{path.name} is larger than the {limit:,}-byte limit")
    return data


def check_json_nesting(raw: bytes, what: str) -> None:
    """Refuse JSON with more than ``MAX_JSON_CONTAINERS`` brackets or nested deeper than ``MAX_JSON_DEPTH``.

    Counts every bracket, those inside strings too (an over-estimate a real file never comes near); C-speed: one
    ``count`` per bracket kind, then a running sum over the brackets alone."""
    containers = max(raw.count(b"[") + raw.count(b"{"), raw.count(b"]") + raw.count(b"}"))
    if containers > MAX_JSON_CONTAINERS:
        raise InvalidModel(f"{what} has {containers:,} arrays and objects, more than the {MAX_JSON_CONTAINERS:,} limit")
    depth = max(accumulate(array("b", raw.translate(_BRACKETS, _NOT_BRACKETS))), default=0)
    if depth > MAX_JSON_DEPTH:
        raise InvalidModel(f"{what} nests {depth} levels deep, more than the {MAX_JSON_DEPTH} limit")


def load_json(raw: bytes, what: str) -> Any:
    """Parse untrusted JSON within the nesting limits; ``InvalidModel`` naming ``what`` when it is not JSON."""
    check_json_nesting(raw, what)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidModel(f"{what} is unreadable, not JSON: {exc}") from exc


def read_json_object(path: Path) -> dict[str, Any]:
    """A config file (at most ``MAX_CONFIG_BYTES``) holding one JSON object."""
    try:
        data = load_json(read_bounded(path, MAX_CONFIG_BYTES), path.name)
    except OSError as exc:
        raise InvalidModel(f"{path.name} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidModel(f"{path.name} is not a JSON object")
    return data


def brief(value: object, limit: int = 60) -> str:
    """An untrusted value for a reason: short scalars and short flat lists as written, anything else described
    (never the repr of a big or nested value, which costs as much as the value)."""
    if isinstance(value, list | tuple) and len(value) <= MAX_DIMS and all(_is_scalar(v) for v in value):
        text = repr(list(value))
    elif _is_scalar(value):
        text = repr(value[: limit + 1] if isinstance(value, str | bytes) else value)
    elif isinstance(value, list | tuple | dict):
        text = f"a {type(value).__name__} of {len(value):,} items"
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_scalar(value: object) -> bool:
    return (
        value is None
        or isinstance(value, bool | float | str | bytes)
        or (isinstance(value, int) and value.bit_length() <= 256)
    )


def element_count(shape: object, what: str, limit: int) -> int:
    """The element count of a declared shape: a list or tuple of at most ``MAX_DIMS`` non-negative integers whose
    product is at most ``limit`` (multiplied with an early stop, so no declared shape makes a huge number)."""
    if not isinstance(shape, list | tuple) or len(shape) > MAX_DIMS:
        raise InvalidModel(f"{what} has shape {brief(shape)}, not a list of at most {MAX_DIMS} sizes")
    count = 1
    for dim in shape:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
            raise InvalidModel(f"{what} has shape {brief(shape)}: {brief(dim, 20)} is not a size")
        count *= min(dim, limit + 1)  # both factors <= limit + 1: every product stays small
        if count > limit:
            raise InvalidModel(f"{what} has shape {brief(shape)}: more than {limit:,} elements")
    return count


@dataclass(frozen=True)
class FolderSummary:
    """What a bounded walk saw: the files (sorted), their total size and the newest mtime of a file or folder."""

    files: list[Path]
    size: int
    mtime_ns: int


def _entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    with os.scandir(folder) as found:
        yield from found


def list_folder(folder: Path, limit: int = MAX_LISTED) -> tuple[list[Path], bool]:
    """The first ``limit`` entries of ``folder`` (in the order the file system gives them), sorted; and whether there
    were more (those are left out)."""
    found: list[Path] = []
    for entry in _entries(folder):
        if len(found) == limit:
            return sorted(found), True
        found.append(Path(entry.path))
    return sorted(found), False


def summarize_folder(folder: Path) -> FolderSummary:
    """Walk ``folder`` (links to folders not followed) to ``MAX_FOLDER_DEPTH`` levels and ``MAX_FOLDER_ENTRIES``
    files and folders; files are regular files or links to them."""
    files: list[Path] = []
    size, newest, seen = 0, folder.stat().st_mtime_ns, 0
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        for entry in _entries(current):
            seen += 1
            if seen > MAX_FOLDER_ENTRIES:
                raise InvalidModel(f"{folder.name} holds more than {MAX_FOLDER_ENTRIES:,} files and folders")
            info = entry.stat(follow_symlinks=False)
            newest = max(newest, info.st_mtime_ns)
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 > MAX_FOLDER_DEPTH:
                    raise InvalidModel(f"{folder.name} nests folders more than {MAX_FOLDER_DEPTH} deep")
                pending.append((Path(entry.path), depth + 1))
            elif entry.is_file():
                files.append(Path(entry.path))
                size += entry.stat().st_size
    return FolderSummary(sorted(files), size, newest)
