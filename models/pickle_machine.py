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

from dataclasses import dataclass, field
from typing import Any

from models.untrusted import InvalidModel

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


def malformed(what: str) -> InvalidModel:
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
            raise malformed("an opcode needs a value on an empty stack")
        return self.stack[-1]

    def pop_many(self, count: int) -> list[Any]:
        start = len(self.stack) - count
        if start < self.floor():
            raise malformed("an opcode pops more values than the stack holds")
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def mark(self) -> None:
        self._check_room()
        self.marks.append(len(self.stack))

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise malformed("MARK missing")
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
            raise malformed("SETITEMS with a key and no value")
        self.nest(target, items)
        for key, value in zip(items[::2], items[1::2], strict=True):
            if isinstance(key, str | int):  # not tuples: hashing a deeply nested tuple recurses in C
                mapping[key] = value
        check_length(mapping)

    def append(self, items: list[Any]) -> None:
        target = self.top()
        if isinstance(target, list):
            self.nest(target, items)
            target.extend(items)
            check_length(target)


def check_length(container: dict[Any, Any] | list[Any]) -> None:
    if len(container) > MAX_ITEMS:
        raise InvalidModel(f"pickle container of more than {MAX_ITEMS:,} items")
