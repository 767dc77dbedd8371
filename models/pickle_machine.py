"""A pickle stack machine that builds inert values, runs nothing, and stays within bounds (torch-free).

The opcodes come from ``pickletools.genops``; this machine applies them as the unpickler would, except that a
global is a ``Global(name)`` placeholder, a call (REDUCE, NEWOBJ) a ``Call(func, args)`` that collects the items
SETITEMS applies to it, and a persistent id a ``Persistent(pid)``: nothing is imported and nothing is called,
whatever the pickle holds.

A pickle is untrusted input, so every kind of work has a limit, and going past one is an ``InvalidModel`` that
names it: opcodes (time), stack height, memo size and index, containers built, items per container, nesting depth,
string and bytes lengths, integer sizes and global names (memory). A declared length is never allocated: arguments
are read from the in-memory pickle, which the caller caps, and one that runs past its end is an error.

Containers stay acyclic and their depth known: a container that already sits inside another is never changed again
(a pickler writes each container whole before it refers to it from anywhere else), so a memo reference can share
a finished container but not build a cycle (``d["state_dict"] = d``) or grow one after the fact.

``Unsupported`` (not an ``InvalidModel``): an opcode this machine does not implement (the text protocol's INST, OBJ,
PERSID, extensions, out-of-band buffers) or an operation on a value it only has a placeholder for; the file may
be fine, the reader just cannot tell.
"""

from __future__ import annotations

import pickletools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.untrusted import InvalidModel, brief

# torch writes 32 opcodes per tensor (170 bytes): room for 16,000 tensors, 6x an SDXL checkpoint (~2,500), in
# about a second (~2 us per opcode on a busy 2-core machine).
MAX_OPCODES = 2**19
# Picklers batch SETITEMS/APPENDS by 1,000 items; only a long tuple needs a higher stack than a few thousand.
MAX_STACK = 2**16
# Picklers number memo entries 0, 1, 2, ...; torch stores 8 per tensor: 16,000 tensors.
MAX_MEMO = 2**17
# Containers, calls, persistent ids and globals built: torch's pickles build 8 per tensor (arguments, storage id,
# shape, stride, hooks, the calls; each global once, then memoised): 16,000 tensors.
MAX_OBJECTS = 2**17
# One dict or list of 131,072 entries (a state dict that size is 50x an SDXL checkpoint).
MAX_ITEMS = 2**17
# A checkpoint nests ~7 deep (dict, state_dict, tensor call, arguments, storage id).
MAX_DEPTH = 64
# One string or bytes argument; tensor names are ~100 characters, hyper-parameter strings a few KB.
MAX_TEXT = 2**20
# Integers in a checkpoint are sizes, steps and seeds (< 2**64).
MAX_INT_BITS = 1024
# A global's "module.name" ("torch._utils._rebuild_tensor_v2"); each STACK_GLOBAL builds a new one.
MAX_NAME = 512


@dataclass(frozen=True, slots=True)
class Global:
    name: str


@dataclass(frozen=True, slots=True)
class Persistent:
    pid: Any


@dataclass(slots=True, eq=False)
class Call:
    """``func(*args)``, never evaluated; items collect what SETITEMS would have applied."""

    func: Any
    args: Any
    items: dict[Any, Any] = field(default_factory=dict)


class Unsupported(Exception):
    """An opcode or operation this machine does not implement; says nothing about the file being corrupt."""


def _malformed(what: str) -> InvalidModel:
    return InvalidModel(f"malformed pickle: {what}")


class Machine:
    """The unpickler's stack, mark stack and memo, with the bookkeeping the limits need."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self._depth: dict[int, int] = {}  # id of each container built -> its depth, negated once it is nested
        self._built: list[Any] = []  # keeps those containers alive, so their ids stay theirs
        self._objects = 0

    def _check_room(self) -> None:
        if len(self.stack) + len(self.marks) >= MAX_STACK:
            raise InvalidModel(f"pickle stack higher than the {MAX_STACK:,} limit")

    def push(self, value: Any) -> None:
        self._check_room()
        self.stack.append(value)

    def floor(self) -> int:
        """Where the values above the last MARK start (the unpickler's current frame)."""
        return self.marks[-1] if self.marks else 0

    def top(self) -> Any:
        if len(self.stack) <= self.floor():
            raise _malformed("an opcode needs a value on an empty stack")
        return self.stack[-1]

    def pop_many(self, count: int) -> list[Any]:
        start = len(self.stack) - count
        if start < self.floor():
            raise _malformed("an opcode pops more values than the stack holds")
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def mark(self) -> None:
        self._check_room()
        self.marks.append(len(self.stack))

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise _malformed("MARK missing")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def build(self, container: Any, items: list[Any]) -> None:
        """Push a new container that holds ``items`` (already in it)."""
        self.count_object()
        self._built.append(container)
        self._depth[id(container)] = 1
        self.nest(container, items)
        self.push(container)

    def count_object(self) -> None:
        self._objects += 1
        if self._objects > MAX_OBJECTS:
            raise InvalidModel(f"pickle builds more than {MAX_OBJECTS:,} objects")

    def nest(self, target: Any, items: list[Any]) -> None:
        """Record that ``items`` now sit in ``target``: they are frozen, ``target``'s depth grows to cover them."""
        depth = self._depth.get(id(target), 0)
        if depth <= 0:
            raise InvalidModel("pickle changes a container after putting it inside another (a cycle)")
        for item in items:
            if item is target:
                raise InvalidModel("pickle puts a container inside itself (a cycle)")
            inner = self._depth.get(id(item))
            if inner is not None:
                self._depth[id(item)] = -abs(inner)
                depth = max(depth, abs(inner) + 1)
        if depth > MAX_DEPTH:
            raise InvalidModel(f"pickle nests containers more than {MAX_DEPTH} deep")
        self._depth[id(target)] = depth

    def set_items(self, items: list[Any]) -> None:
        target = self.top()
        mapping = target.items if isinstance(target, Call) else target
        if not isinstance(mapping, dict):
            raise Unsupported("SETITEMS on something that is not a dict")
        if len(items) % 2:
            raise _malformed("SETITEMS with a key and no value")
        self.nest(target, items)
        for key, value in zip(items[::2], items[1::2], strict=True):
            if isinstance(key, str | int):  # not tuples: hashing a deeply nested tuple recurses in C
                mapping[key] = value
        _check_length(mapping)

    def append(self, items: list[Any]) -> None:
        target = self.top()
        if isinstance(target, list):
            self.nest(target, items)
            target.extend(items)
            _check_length(target)

    def step(self, name: str, arg: Any) -> None:
        if name in _PUSH_ARG:
            self.push(_checked_arg(arg))
        elif name in _CONSTANTS:
            self.push(_CONSTANTS[name])
        elif name in _EMPTY:
            self.build(_EMPTY[name](), [])
        elif name in _OPS:
            _OPS[name](self, arg)
        elif name not in ("PROTO", "FRAME", "STOP"):
            raise Unsupported(name)


def _check_length(container: dict[Any, Any] | list[Any]) -> None:
    if len(container) > MAX_ITEMS:
        raise InvalidModel(f"pickle container of more than {MAX_ITEMS:,} items")


def _checked_arg(arg: Any) -> Any:
    if isinstance(arg, str | bytes) and len(arg) > MAX_TEXT:
        raise InvalidModel(f"pickle string of {len(arg):,} characters, more than the {MAX_TEXT:,} limit")
    if isinstance(arg, int) and arg.bit_length() > MAX_INT_BITS:
        raise InvalidModel(f"pickle integer of {arg.bit_length():,} bits, more than the {MAX_INT_BITS} limit")
    return arg


def _memo_index(arg: Any) -> int:
    if not isinstance(arg, int) or not 0 <= arg < MAX_MEMO:
        raise InvalidModel(f"pickle memo index {brief(arg, 40)} outside 0..{MAX_MEMO - 1:,}")
    return int(arg)


def _memo_put(machine: Machine, arg: Any) -> None:
    machine.memo[_memo_index(arg)] = machine.top()


def _memoize(machine: Machine, arg: Any) -> None:
    machine.memo[_memo_index(len(machine.memo))] = machine.top()


def _memo_get(machine: Machine, arg: Any) -> None:
    index = _memo_index(arg)
    if index not in machine.memo:
        raise _malformed(f"memo entry {index} is read before it is stored")
    machine.push(machine.memo[index])


def _tuple_n(count: int) -> Callable[[Machine, Any], None]:
    def apply(machine: Machine, arg: Any) -> None:
        items = machine.pop_many(count)
        machine.build(tuple(items), items)

    return apply


def _from_mark(kind: Callable[[list[Any]], Any]) -> Callable[[Machine, Any], None]:
    def apply(machine: Machine, arg: Any) -> None:
        items = machine.pop_mark()
        machine.build(kind(items), items)

    return apply


def _dict(machine: Machine, arg: Any) -> None:
    items = machine.pop_mark()
    machine.build({}, [])
    machine.set_items(items)


def _global_name(module: Any, name: Any) -> Global:
    if not isinstance(module, str) or not isinstance(name, str):
        raise _malformed("a global's module and name are not strings")
    if len(module) + len(name) + 1 > MAX_NAME:
        raise InvalidModel(f"pickle global name longer than the {MAX_NAME} limit")
    return Global(f"{module}.{name}")


def _global(machine: Machine, arg: Any) -> None:
    module, _, name = str(arg).partition(" ")
    machine.count_object()
    machine.push(_global_name(module, name))


def _stack_global(machine: Machine, arg: Any) -> None:
    module, name = machine.pop_many(2)
    machine.count_object()  # 5 bytes of pickle can join two memoised strings: each name counts
    machine.push(_global_name(module, name))


def _call(machine: Machine, arg: Any) -> None:
    func, args = machine.pop_many(2)
    machine.build(Call(func, args), [func, args])


def _newobj_ex(machine: Machine, arg: Any) -> None:
    func, args, _kwargs = machine.pop_many(3)
    machine.build(Call(func, args), [func, args])


def _persistent(machine: Machine, arg: Any) -> None:
    (pid,) = machine.pop_many(1)
    machine.build(Persistent(pid), [pid])


def _pop(machine: Machine, arg: Any) -> None:
    if len(machine.stack) > machine.floor():
        machine.stack.pop()
    else:
        machine.pop_mark()


def _pop_mark(machine: Machine, arg: Any) -> None:
    machine.pop_mark()


def _build_state(machine: Machine, arg: Any) -> None:
    machine.pop_many(1)  # the state BUILD would apply: not needed to read tensors
    machine.top()


_OPS: dict[str, Callable[[Machine, Any], None]] = {
    "MARK": lambda machine, _: machine.mark(),
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
    "TUPLE": _from_mark(tuple),
    "LIST": _from_mark(list),
    "FROZENSET": _from_mark(list),
    "DICT": _dict,
    "SETITEM": lambda machine, _: machine.set_items(machine.pop_many(2)),
    "SETITEMS": lambda machine, _: machine.set_items(machine.pop_mark()),
    "APPEND": lambda machine, _: machine.append(machine.pop_many(1)),
    "APPENDS": lambda machine, _: machine.append(machine.pop_mark()),
    "ADDITEMS": lambda machine, _: machine.append(machine.pop_mark()),
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "REDUCE": _call,
    "NEWOBJ": _call,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build_state,
    "BINPERSID": _persistent,
    "POP": _pop,
    "POP_MARK": _pop_mark,
    "DUP": lambda machine, _: machine.push(machine.top()),
}
_PUSH_ARG = {
    *("BININT", "BININT1", "BININT2", "INT", "LONG", "LONG1", "LONG4", "BINFLOAT", "FLOAT"),
    *("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE"),
    *("BINSTRING", "SHORT_BINSTRING", "STRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8"),
}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_EMPTY: dict[str, Callable[[], Any]] = {"EMPTY_DICT": dict, "EMPTY_LIST": list, "EMPTY_SET": list, "EMPTY_TUPLE": tuple}


def run(data: bytes) -> Any:
    """The value a pickle builds, as inert placeholders; ``InvalidModel`` past a limit or when it is malformed."""
    machine = Machine()
    try:
        for count, (opcode, arg, _) in enumerate(pickletools.genops(data)):
            if count >= MAX_OPCODES:
                raise InvalidModel(f"pickle runs more than {MAX_OPCODES:,} opcodes")
            machine.step(opcode.name, arg)
            if opcode.name == "STOP":
                break
    except ValueError as exc:  # genops: unknown opcode, an argument past the end, no STOP before the end
        raise _malformed(str(exc)[:200]) from exc
    if len(machine.stack) != 1 or machine.marks:
        raise _malformed("it does not end with exactly one value")
    return machine.stack[0]
