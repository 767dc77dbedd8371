"""Tensor names, shapes and dtypes of a torch ``.ckpt`` without unpickling it (torch-free, executes nothing).

A torch checkpoint (torch >= 1.6) is a zip: ``<root>/data.pkl`` holds the structure, ``<root>/data/<key>`` the raw
storages. The pickle is run by ``models.pickle_machine``, which builds inert placeholders for globals and calls, so
no class is imported and no code runs, whatever the file contains. A tensor is a call of
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose storage is a persistent id
``('storage', torch.HalfStorage, key, location, numel)``. The result has the shape of a safetensors header:
``{name: {"dtype": "F16", "shape": [...], "storage": "<root>/data/<key>", "offset": elements}}``.

Everything is untrusted: the zip is opened within ``models.archive``'s bounds, ``data.pkl`` is read only up to
``MAX_PICKLE_BYTES``, the machine has its own limits, and each tensor's offset, shape and storage key are checked
before they are used (past a limit or malformed: ``InvalidModel``). The legacy (pre-zip) format and pickles the
machine does not implement give ``None``: the file is then listed with an unknown architecture.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from models.archive import open_zip, read_member, read_stored
from models.pickle_machine import Call, Global, Persistent, Unsupported
from models.pickle_ops import run
from models.untrusted import InvalidModel, brief, element_count, open_regular

# torch writes ~170 bytes of data.pkl per tensor: ~0.4 MB for an SDXL checkpoint; 8 MiB is 48,000 tensors (the
# opcode limit stops at 16,000: the rest is room for long names and other values).
MAX_PICKLE_BYTES = 8 * 1024 * 1024
# No tensor in a file has more elements than 2**48 (that would be 512 TB of fp16).
MAX_ELEMENTS = 2**48
# torch names storages 0, 1, 2, ...
_STORAGE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")

STORAGE_DTYPES = {
    "HalfStorage": "F16",
    "FloatStorage": "F32",
    "BFloat16Storage": "BF16",
    "DoubleStorage": "F64",
    "LongStorage": "I64",
    "IntStorage": "I32",
    "ShortStorage": "I16",
    "CharStorage": "I8",
    "ByteStorage": "U8",
    "BoolStorage": "BOOL",
}
ITEM_SIZES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _items(value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, Call) and isinstance(value.func, Global) and value.func.name.endswith("OrderedDict"):
        return value.items
    return None


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ELEMENTS


def _tensor_entry(args: Any, root: str, name: str) -> dict[str, Any]:
    """The header entry of ``_rebuild_tensor_v2(*args)``, every declared part checked."""
    what = f"tensor {brief(name, 80)}"
    if not isinstance(args, tuple) or len(args) < 4 or not isinstance(args[0], Persistent):
        raise InvalidModel(f"{what} is not (storage, offset, size, stride, ...)")
    pid = args[0].pid
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], Global)):
        raise InvalidModel(f"{what} has no ('storage', type, key, location, size) storage id")
    if not isinstance(pid[2], str) or not _STORAGE_KEY.fullmatch(pid[2]):
        raise InvalidModel(f"{what} names its storage {brief(pid[2], 40)}, not a storage key")
    if not _natural(args[1]):
        raise InvalidModel(f"{what} has offset {brief(args[1], 40)}, not a size")
    element_count(args[2], what, MAX_ELEMENTS)
    dtype = STORAGE_DTYPES.get(pid[1].name.rsplit(".", 1)[-1], "UNKNOWN")
    return {"dtype": dtype, "shape": list(args[2]), "storage": f"{root}/data/{pid[2]}", "offset": args[1]}


def _tensor(value: Any, root: str, name: str) -> dict[str, Any] | None:
    if not isinstance(value, Call) or not isinstance(value.func, Global):
        return None
    if value.func.name == "torch._utils._rebuild_parameter":  # nesting is bounded: so is this recursion
        inner = value.args[0] if isinstance(value.args, tuple) and value.args else None
        return _tensor(inner, root, name)
    if value.func.name != "torch._utils._rebuild_tensor_v2":
        return None
    return _tensor_entry(value.args, root, name)


def _read_pickle(path: Path) -> tuple[bytes, str] | None:
    """(data.pkl, its root folder) of a torch zip checkpoint; None for anything else."""
    with open_regular(path) as handle:
        archive = open_zip(handle, os.fstat(handle.fileno()).st_size)
        if archive is None:
            return None
        with archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(names) != 1:
                return None
            return read_member(archive, names[0], MAX_PICKLE_BYTES), names[0].rsplit("/", 1)[0]


def header_from_pickle(data: bytes, root: str) -> dict[str, dict[str, Any]] | None:
    """The tensors of a checkpoint's ``data.pkl`` (the ``state_dict`` entry when there is one) as a
    safetensors-like header; None when it holds no state dict or needs what the machine does not implement."""
    try:
        top = run(data)
    except Unsupported:
        return None
    state = _items(top)
    while state is not None and "state_dict" in state:  # containers are acyclic and shallow: this ends
        state = _items(state["state_dict"])
    if state is None:
        return None
    header = {}
    for key, value in state.items():
        tensor = _tensor(value, root, key) if isinstance(key, str) else None
        if tensor is not None:
            header[key] = tensor
    return header


def read_ckpt_header(path: Path) -> dict[str, dict[str, Any]] | None:
    """The checkpoint's tensors as a safetensors-like header; None for the legacy format and other pickles."""
    found = _read_pickle(path)
    return header_from_pickle(*found) if found is not None else None


def read_ckpt_values(path: Path, entry: dict[str, Any], limit: int) -> bytes | None:
    """The raw bytes of one (small, contiguous) tensor of a ``read_ckpt_header`` entry, at most ``limit`` elements;
    None when it is bigger, compressed, or not inside its storage."""
    size = ITEM_SIZES.get(entry["dtype"])
    if size is None:
        return None
    try:
        count = element_count(entry["shape"], "the tensor", limit)
    except InvalidModel:
        return None
    with open_regular(path) as handle:
        archive = open_zip(handle, os.fstat(handle.fileno()).st_size)
        if archive is None:
            return None
        with archive:
            try:
                info = archive.getinfo(entry["storage"])
            except KeyError:
                return None
            return read_stored(handle, info, entry["offset"] * size, count * size)
