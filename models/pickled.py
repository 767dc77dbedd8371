"""Tensor names, shapes and dtypes of a torch ``.ckpt`` without unpickling it (torch-free, executes nothing).

A torch checkpoint (torch >= 1.6) is a zip: ``<root>/data.pkl`` holds the structure, ``<root>/data/<key>`` the raw
storages. The pickle is read opcode by opcode (``pickletools.genops``) by a small stack machine that builds inert
placeholders for globals and calls, so no class is imported and no code runs, whatever the file contains. A tensor
is a call of ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose storage is a persistent
id ``('storage', torch.HalfStorage, key, location, numel)``. The result has the shape of a safetensors header:
``{name: {"dtype": "F16", "shape": [...], "storage": "<root>/data/<key>", "offset": elements}}``.

The legacy (pre-zip) format and anything the stack machine does not understand give ``None``: the file is then
listed with an unknown architecture, as before.
"""

from __future__ import annotations

import pickletools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_PICKLE_BYTES = 64 * 1024 * 1024

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


@dataclass(frozen=True)
class Global:
    name: str


@dataclass(frozen=True)
class Persistent:
    pid: Any


@dataclass
class Call:
    """``func(*args)``, never evaluated; items/state collect what SETITEMS and BUILD would have applied."""

    func: Any
    args: Any
    items: dict[Any, Any] = field(default_factory=dict)


class _Unsupported(Exception):
    pass


_MARK = object()


class _Machine:
    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.memo: dict[int, Any] = {}

    def pop_mark(self) -> list[Any]:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is _MARK:
                items = self.stack[index + 1 :]
                del self.stack[index:]
                return items
        raise _Unsupported("MARK missing")

    def set_items(self, items: list[Any]) -> None:
        target = self.stack[-1]
        mapping = target.items if isinstance(target, Call) else target
        if not isinstance(mapping, dict):
            raise _Unsupported("SETITEMS on a non-dict")
        for key, value in zip(items[::2], items[1::2], strict=True):
            if isinstance(key, str | int | tuple):
                mapping[key] = value

    def append(self, items: list[Any]) -> None:
        target = self.stack[-1]
        if isinstance(target, list):
            target.extend(items)

    def pop_many(self, count: int) -> list[Any]:
        items = self.stack[len(self.stack) - count :]
        del self.stack[len(self.stack) - count :]
        return items

    def step(self, name: str, arg: Any) -> None:
        if name in _PUSH_ARG:
            self.stack.append(arg)
        elif name in _CONSTANTS:
            self.stack.append(_CONSTANTS[name]())
        elif name in _OPS:
            _OPS[name](self, arg)
        elif name not in ("PROTO", "FRAME", "STOP"):
            raise _Unsupported(name)


def _memo_put(machine: _Machine, arg: Any) -> None:
    machine.memo[int(arg)] = machine.stack[-1]


def _memoize(machine: _Machine, arg: Any) -> None:
    machine.memo[len(machine.memo)] = machine.stack[-1]


def _memo_get(machine: _Machine, arg: Any) -> None:
    machine.stack.append(machine.memo[int(arg)])


def _tuple_n(count: int) -> Callable[[_Machine, Any], object]:
    return lambda machine, _: machine.stack.append(tuple(machine.pop_many(count)))


def _dict(machine: _Machine, arg: Any) -> None:
    items = machine.pop_mark()
    machine.stack.append({})
    machine.set_items(items)


def _setitem(machine: _Machine, arg: Any) -> None:
    machine.set_items(machine.pop_many(2))


def _global(machine: _Machine, arg: Any) -> None:
    machine.stack.append(Global(str(arg).replace(" ", ".")))


def _stack_global(machine: _Machine, arg: Any) -> None:
    module, qualname = machine.pop_many(2)
    machine.stack.append(Global(f"{module}.{qualname}"))


def _reduce(machine: _Machine, arg: Any) -> None:
    func, args = machine.pop_many(2)
    machine.stack.append(Call(func, args))


def _newobj_ex(machine: _Machine, arg: Any) -> None:
    func, args, _kwargs = machine.pop_many(3)
    machine.stack.append(Call(func, args))


_OPS: dict[str, Callable[[_Machine, Any], object]] = {
    "MARK": lambda machine, _: machine.stack.append(_MARK),
    "BINPUT": _memo_put,
    "LONG_BINPUT": _memo_put,
    "PUT": _memo_put,
    "MEMOIZE": _memoize,
    "BINGET": _memo_get,
    "LONG_BINGET": _memo_get,
    "GET": _memo_get,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "TUPLE": lambda machine, _: machine.stack.append(tuple(machine.pop_mark())),
    "LIST": lambda machine, _: machine.stack.append(machine.pop_mark()),
    "FROZENSET": lambda machine, _: machine.stack.append(machine.pop_mark()),
    "DICT": _dict,
    "SETITEM": _setitem,
    "SETITEMS": lambda machine, _: machine.set_items(machine.pop_mark()),
    "APPEND": lambda machine, _: machine.append(machine.pop_many(1)),
    "APPENDS": lambda machine, _: machine.append(machine.pop_mark()),
    "ADDITEMS": lambda machine, _: machine.append(machine.pop_mark()),
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "REDUCE": _reduce,
    "NEWOBJ": _reduce,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": lambda machine, _: machine.pop_many(1),
    "BINPERSID": lambda machine, _: machine.stack.append(Persistent(machine.stack.pop())),
    "POP": lambda machine, _: machine.pop_many(1),
    "POP_MARK": lambda machine, _: machine.pop_mark(),
    "DUP": lambda machine, _: machine.stack.append(machine.stack[-1]),
}


_PUSH_ARG = {
    "BININT",
    "BININT1",
    "BININT2",
    "INT",
    "LONG",
    "LONG1",
    "LONG4",
    "BINFLOAT",
    "FLOAT",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "BINSTRING",
    "SHORT_BINSTRING",
    "STRING",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
}
_CONSTANTS: dict[str, Callable[[], Any]] = {
    "NONE": lambda: None,
    "NEWTRUE": lambda: True,
    "NEWFALSE": lambda: False,
    "EMPTY_DICT": dict,
    "EMPTY_LIST": list,
    "EMPTY_SET": list,
    "EMPTY_TUPLE": tuple,
}


def _run(data: bytes) -> Any:
    machine = _Machine()
    for opcode, arg, _ in pickletools.genops(data):
        machine.step(opcode.name, arg)
        if opcode.name == "STOP":
            break
    if len(machine.stack) != 1:
        raise _Unsupported("unbalanced pickle")
    return machine.stack[0]


def _items(value: Any) -> dict[Any, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, Call) and isinstance(value.func, Global) and value.func.name.endswith("OrderedDict"):
        return value.items
    return None


def _tensor(value: Any, root: str) -> dict[str, Any] | None:
    if not isinstance(value, Call) or not isinstance(value.func, Global):
        return None
    if value.func.name == "torch._utils._rebuild_parameter":
        return _tensor(value.args[0], root)
    if value.func.name != "torch._utils._rebuild_tensor_v2" or not isinstance(value.args[0], Persistent):
        return None
    pid = value.args[0].pid
    if not (isinstance(pid, tuple) and len(pid) >= 5 and isinstance(pid[1], Global)):
        return None
    dtype = STORAGE_DTYPES.get(pid[1].name.rsplit(".", 1)[-1], "UNKNOWN")
    return {"dtype": dtype, "shape": list(value.args[2]), "storage": f"{root}/data/{pid[2]}", "offset": value.args[1]}


def read_ckpt_header(path: Path) -> dict[str, dict[str, Any]] | None:
    """The checkpoint's tensors (the ``state_dict`` entry when there is one) as a safetensors-like header."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(names) != 1 or archive.getinfo(names[0]).file_size > MAX_PICKLE_BYTES:
            return None
        root = names[0].rsplit("/", 1)[0]
        try:
            top = _run(archive.read(names[0]))
        except (_Unsupported, ValueError, IndexError, KeyError, TypeError):
            return None
    state = _items(top)
    while state is not None and "state_dict" in state:
        state = _items(state["state_dict"])
    if state is None:
        return None
    header = {}
    for key, value in state.items():
        tensor = _tensor(value, root)
        if isinstance(key, str) and tensor is not None:
            header[key] = tensor
    return header


def read_ckpt_values(path: Path, entry: dict[str, Any], limit: int) -> bytes | None:
    """The raw bytes of one (small) tensor of a ``read_ckpt_header`` entry, at most ``limit`` elements."""
    size = ITEM_SIZES.get(entry["dtype"])
    count = 1
    for dim in entry["shape"]:
        count *= dim
    if size is None or count > limit:
        return None
    with zipfile.ZipFile(path) as archive, archive.open(entry["storage"]) as handle:
        handle.seek(entry["offset"] * size)
        data = handle.read(count * size)
    return data if len(data) == count * size else None
