"""Crafted model files, one per attack on the readers of untrusted bytes (issue #11).

Pickles are written opcode by opcode (``pickle``'s opcode constants), so each one is exactly the stream an attacker
would hand the torch-free reader; ``ckpt`` wraps one in a torch-style zip. Sizes are parameters: the tests pass just
over a limit, ``bench/untrusted.py`` passes the sizes that hurt the unbounded readers.
"""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from pathlib import Path

PROTO2 = pickle.PROTO + b"\x02"


def ops(*parts: bytes) -> bytes:
    """A protocol-2 pickle of these opcodes, with STOP at the end."""
    return PROTO2 + b"".join(parts) + pickle.STOP


def text(value: str) -> bytes:
    raw = value.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw


def small_int(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def global_(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def put(index: int) -> bytes:
    return pickle.LONG_BINPUT + struct.pack("<I", index)


def get(index: int) -> bytes:
    return pickle.LONG_BINGET + struct.pack("<I", index)


def int_tuple(values: list[int]) -> bytes:
    return pickle.MARK + b"".join(small_int(v) for v in values) + pickle.TUPLE


def tensor(key: str, shape: bytes, *, offset: bytes = b"", dtype: str = "HalfStorage", numel: int = 8) -> bytes:
    """``torch._utils._rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())`` as torch writes it,
    ``shape`` (and ``offset``) given as opcodes, so they can be anything."""
    pid = pickle.MARK + text("storage") + global_("torch", dtype) + text(key) + text("cpu") + small_int(numel)
    args = pid + pickle.TUPLE + pickle.BINPERSID + (offset or small_int(0)) + shape + int_tuple([1])
    args += pickle.NEWFALSE + global_("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE
    return global_("torch._utils", "_rebuild_tensor_v2") + pickle.MARK + args + pickle.TUPLE + pickle.REDUCE


def state_dict(tensors: dict[str, bytes]) -> bytes:
    """``{"state_dict": {name: tensor, ...}}`` from each tensor's opcodes."""
    items = b"".join(text(name) + value for name, value in tensors.items())
    inner = pickle.EMPTY_DICT + pickle.MARK + items + pickle.SETITEMS
    return ops(pickle.EMPTY_DICT + text("state_dict") + inner + pickle.SETITEM)


SD2_PROBE = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
SD2_KEY = "cond_stage_model.model.token_embedding.weight"


def sd2_with_probe_shape(shape: bytes) -> bytes:
    """An SD2-looking state dict whose prediction probe (a tensor the reader reads values of) has ``shape``."""
    return state_dict({SD2_KEY: tensor("0", int_tuple([8])), SD2_PROBE: tensor("1", shape)})


def cyclic_state_dict() -> bytes:
    """``d = {}; d["state_dict"] = d``: a reader that follows ``state_dict`` entries never stops."""
    return ops(pickle.EMPTY_DICT + put(0) + text("state_dict") + get(0) + pickle.SETITEM)


def cyclic_lists() -> bytes:
    """``a = []; b = [a]; a.append(b)``, returned inside a dict: a cycle through two containers."""
    first = pickle.EMPTY_LIST + put(0)
    second = pickle.EMPTY_LIST + put(1) + get(0) + pickle.APPEND
    return ops(first + second + pickle.APPEND + pickle.POP + pickle.EMPTY_DICT + text("x") + get(0) + pickle.SETITEM)


def opcode_flood(pairs: int) -> bytes:
    """``pairs`` times NONE, POP: a long stream that builds nothing (costs time only)."""
    return ops(pickle.EMPTY_DICT + (pickle.NONE + pickle.POP) * pairs)


def list_flood(count: int) -> bytes:
    """``count`` empty lists left on the stack: one byte of pickle, ~64 bytes of memory each."""
    return ops(pickle.EMPTY_LIST * count)


def object_flood(count: int) -> bytes:
    """One list holding ``count`` empty lists: each a new object for 2 bytes of pickle."""
    return ops(pickle.EMPTY_LIST + (pickle.EMPTY_LIST + pickle.APPEND) * count)


def long_list(count: int) -> bytes:
    """One list of ``count`` Nones, appended in batches of 1,000 as picklers write them."""
    batches, rest = divmod(count, 1000)
    appends = (pickle.MARK + pickle.NONE * 1000 + pickle.APPENDS) * batches + pickle.MARK + pickle.NONE * rest
    return ops(pickle.EMPTY_LIST + appends + pickle.APPENDS)


def big_integer(size: int) -> bytes:
    """A LONG4 integer of ``size`` bytes."""
    return ops(pickle.LONG4 + struct.pack("<i", size) + b"\x7f" * size)


def memo_get_unset() -> bytes:
    """A memo read of an index never stored."""
    return ops(get(7))


def deep_lists(depth: int) -> bytes:
    """A list nested ``depth`` deep (``[[[...]]]``)."""
    return ops(pickle.EMPTY_LIST * depth + pickle.APPEND * (depth - 1))


def deep_tuple_key(depth: int) -> bytes:
    """A dict keyed by a tuple nested ``depth`` deep: hashing the key recurses in C (a segfault in CPython)."""
    key = pickle.EMPTY_TUPLE + pickle.TUPLE1 * depth
    return ops(pickle.EMPTY_DICT + key + pickle.NONE + pickle.SETITEM)


def huge_text_length(length: int = 2**32 - 1, opcode: bytes = pickle.BINUNICODE) -> bytes:
    """A string opcode declaring ``length`` bytes where three follow."""
    size = struct.pack("<Q" if opcode in (pickle.BINUNICODE8, pickle.BINBYTES8) else "<I", length)
    return PROTO2 + opcode + size + b"abc" + pickle.STOP


def memo_flood(count: int) -> bytes:
    """One value stored under ``count`` memo indices."""
    return ops(pickle.NONE + b"".join(put(i) for i in range(count)))


def memo_far_index(index: int = 2**32 - 1) -> bytes:
    """A memo index far beyond anything a pickler writes (they count up from 0)."""
    return ops(pickle.NONE + put(index))


def name_concat(size: int, count: int) -> bytes:
    """A ``size``-character string kept in the memo, then ``count`` STACK_GLOBALs of it with itself, left on the
    stack: each builds a new name of 2 * ``size`` characters from 11 bytes of pickle."""
    build = text("m" * size) + put(0) + pickle.POP
    return ops(build + (get(0) + get(0) + pickle.STACK_GLOBAL) * count)


def shared_shape(dims: int, tensors: int) -> bytes:
    """``tensors`` tensors sharing one memoised shape tuple of ``dims`` dimensions (copied per tensor if trusted)."""
    shape = int_tuple([1] * dims) + put(9)
    items = {f"t{i}": tensor(str(i), shape if i == 0 else get(9)) for i in range(tensors)}
    return state_dict(items)


def ckpt(path: Path, data_pkl: bytes, *, compress: bool = False, storages: dict[str, bytes] | None = None) -> Path:
    """A torch-style zip checkpoint: ``archive/data.pkl`` and the given ``archive/data/<key>`` storages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", "3\n")
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return path


def declare_member_size(path: Path, member: str, size: int) -> Path:
    """Rewrite the uncompressed size that the zip's central directory (and local header) declare for ``member``."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", raw, central + 24, size)
            local = struct.unpack_from("<I", raw, central + 42)[0]
            struct.pack_into("<I", raw, local + 22, size)
        central = raw.find(b"PK\x01\x02", central + 1)
    path.write_bytes(bytes(raw))
    return path


def many_members(path: Path, count: int) -> Path:
    """A zip whose central directory really lists ``count`` empty members (no local headers: a directory is all a
    reader parses before it opens a member), built with struct in a fraction of a second."""
    central = bytearray()
    for index in range(count):
        name = f"archive/data/{index}".encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0)
        central += name
    listed = min(count, 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, listed, listed, len(central), 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(central) + end)
    return path


def safetensors(path: Path, header: object, data: bytes = b"", *, length: int | None = None) -> Path:
    """A safetensors file: 8-byte length (``length`` overrides the true one), the header as JSON (bytes as given),
    then ``data``."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def entry(shape: object, offsets: object, dtype: str = "F16") -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


def zip_directory_claim(path: Path, length: int) -> Path:
    """A file whose end record claims a central directory of ``length`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 64 + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, length, 0, 0))
    return path
