"""Safetensors headers, read and checked without trusting them (torch-free).

Layout: an 8-byte little-endian length N, N bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin,
end]}, "__metadata__": {...}}``, then the tensors' bytes (offsets count from the end of the header).

Nothing declared is trusted: the length is checked against ``MAX_HEADER_BYTES`` and the file's size before a byte of
the header is read, the JSON's nesting before it is parsed (``models.untrusted.load_json``), then the tensor count
and each tensor: a short dtype name, a shape of at most ``MAX_DIMS`` non-negative integers, two integer offsets in
order, a byte span that is exactly shape x dtype size for the known dtypes, inside the file. A header that passes is
one the safetensors library would load; ``InvalidModel`` says what the first failure is.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from models.untrusted import InvalidModel, brief, element_count, load_json, open_regular

# ~150 bytes of JSON per tensor: ~0.4 MB for an SDXL checkpoint; kohya LoRAs add metadata (tag counts) up to ~1 MB.
# (The safetensors library allows 100 MB; parsing JSON costs up to ~25x its size in memory.)
MAX_HEADER_BYTES = 8 * 1024 * 1024
# An SDXL checkpoint has ~2,500 tensors, a LoRA for it ~2,200: 13x that. (The JSON container limit alone, at
# 3 per tensor, would allow 43,000.)
MAX_TENSORS = 2**15
# Dtype names are short ("F16", "F8_E4M3").
MAX_DTYPE_CHARS = 16
DTYPE_SIZES = {
    **{"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1},
    **{"I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8},
}


def _offsets(entry: dict[str, Any], what: str) -> tuple[int, int]:
    offsets = entry.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise InvalidModel(f"{what} has data_offsets {brief(offsets)}, not [begin, end] with 0 <= begin <= end")
    return offsets[0], offsets[1]


def check_entry(name: str, entry: Any) -> int:
    """Check one tensor's declaration; its end offset."""
    what = f"tensor {brief(name, 80)}"
    if not isinstance(entry, dict):
        raise InvalidModel(f"{what} is not a JSON object")
    dtype = entry.get("dtype")
    if not isinstance(dtype, str) or not 0 < len(dtype) <= MAX_DTYPE_CHARS:
        raise InvalidModel(f"{what} has dtype {brief(dtype, 40)}, not a dtype name")
    begin, end = _offsets(entry, what)
    item = DTYPE_SIZES.get(dtype)
    if item is None:  # a dtype this reader does not know (sub-byte ones among them): one bit per element at least
        element_count(entry.get("shape"), what, (end - begin) * 8)
    elif element_count(entry.get("shape"), what, (end - begin) // item) * item != end - begin:
        raise InvalidModel(f"{what}: shape {brief(entry['shape'])} of {dtype} is not {end - begin:,} bytes")
    return end


def _read_raw_header(path: Path) -> tuple[bytes, int]:
    """(header bytes, file size), the declared length checked before anything is read."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(8)
        if len(head) < 8:
            raise InvalidModel("shorter than a safetensors header")
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER_BYTES:
            raise InvalidModel(f"header length {length:,} is more than the {MAX_HEADER_BYTES:,}-byte limit")
        if 8 + length > size:
            raise InvalidModel(
                f"header length {length} does not fit in a {size}-byte file (truncated or not safetensors)"
            )
        raw = handle.read(length)
    if len(raw) < length:
        raise InvalidModel("the file shrank while it was read (truncated)")
    return raw, size


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The tensors' declarations (``__metadata__`` left out), every one checked."""
    raw, size = _read_raw_header(path)
    header = load_json(raw, "header")
    if not isinstance(header, dict):
        raise InvalidModel("header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidModel("__metadata__ is not a JSON object")
    if len(header) > MAX_TENSORS:
        raise InvalidModel(f"header lists {len(header):,} tensors, more than the {MAX_TENSORS:,} limit")
    end = max((check_entry(name, entry) for name, entry in header.items()), default=0)
    if 8 + len(raw) + end > size:
        raise InvalidModel(f"tensors need {8 + len(raw) + end} bytes but the file has {size} (truncated)")
    return header


def read_tensor_bytes(path: Path, header: dict[str, Any], key: str, limit: int) -> tuple[bytes, str] | None:
    """(bytes, dtype) of one checked tensor of at most ``limit`` bytes; None when absent or bigger."""
    entry = header.get(key)
    if not isinstance(entry, dict):
        return None
    begin, end = entry["data_offsets"]
    if end - begin > limit:
        return None
    with open_regular(path) as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        handle.seek(8 + length + begin)
        data = handle.read(end - begin)
    return (data, entry["dtype"]) if len(data) == end - begin else None
