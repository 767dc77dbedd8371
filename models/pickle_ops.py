"""The opcodes of :mod:`models.pickle_machine`: each applied as the unpickler would, within the machine's limits,
building inert placeholders (torch-free), and :func:`run`, which feeds a pickle's opcodes to a fresh machine."""

from __future__ import annotations

import pickletools
from collections.abc import Callable
from typing import Any

from models.pickle_machine import (
    MAX_INT_BITS,
    MAX_MEMO,
    MAX_NAME,
    MAX_OPCODES,
    MAX_TEXT,
    Call,
    Global,
    Machine,
    Persistent,
    Unsupported,
    malformed,
)
from models.untrusted import InvalidModel, brief


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
        raise malformed(f"memo entry {index} is read before it is stored")
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
        raise malformed("a global's module and name are not strings")
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


def step(machine: Machine, name: str, arg: Any) -> None:
    """Apply one opcode to ``machine``; ``Unsupported`` for one this machine does not implement."""
    if name in _PUSH_ARG:
        machine.push(_checked_arg(arg))
    elif name in _CONSTANTS:
        machine.push(_CONSTANTS[name])
    elif name in _EMPTY:
        machine.build(_EMPTY[name](), [])
    elif name in _OPS:
        _OPS[name](machine, arg)
    elif name not in ("PROTO", "FRAME", "STOP"):
        raise Unsupported(name)


def run(data: bytes) -> Any:
    """The value a pickle builds, as inert placeholders; ``InvalidModel`` past a limit or when it is malformed."""
    machine = Machine()
    try:
        for count, (opcode, arg, _) in enumerate(pickletools.genops(data)):
            if count >= MAX_OPCODES:
                raise InvalidModel(f"pickle runs more than {MAX_OPCODES:,} opcodes")
            step(machine, opcode.name, arg)
            if opcode.name == "STOP":
                break
    except ValueError as exc:  # genops: unknown opcode, an argument past the end, no STOP before the end
        raise malformed(str(exc)[:200]) from exc
    if len(machine.stack) != 1 or machine.marks:
        raise malformed("it does not end with exactly one value")
    return machine.stack[0]
