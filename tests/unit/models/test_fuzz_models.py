"""Property-based fuzzing of the readers of model files: real tiny model files with bytes flipped, overwritten,
inserted, deleted or cut, and generated pickle opcode streams. Every scan returns within TIME_BOUND and MEMORY,
nothing escapes the registry, and the good models stay listed beside the mutated one."""

from __future__ import annotations

import itertools
import os
import struct
import time
import tracemalloc
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from models.pickled import header_from_pickle
from models.registry import ModelRegistry
from models.untrusted import InvalidModel
from tests.unit.models import crafted
from tests.unit.models.conftest import MEMORY

TIME_BOUND = 2.0  # seconds for one scan of a tiny file, however mutated
FUZZ = settings(
    max_examples=120,
    deadline=5000,  # ms; the assertions hold each scan to TIME_BOUND, this only catches a runaway example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Values a declared length, offset or count is most likely to mishandle, written little-endian over 1-8 bytes.
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**63, 2**64 - 1]


@dataclass
class Base:
    """A real model file, where it goes, and the byte ranges a mutation most likely matters in."""

    name: str
    folder: str
    suffix: str
    data: bytes
    hot: list[tuple[int, int]]

    def relative(self, stem: str) -> str:
        return f"{self.folder}/{stem}-{self.name}{self.suffix}"


def _zip_ranges(data: bytes) -> list[tuple[int, int]]:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        pkl = next(i for i in archive.infolist() if i.filename.endswith("data.pkl"))
        directory = archive.start_dir
    return [(pkl.header_offset, pkl.header_offset + 128 + pkl.compress_size), (directory, len(data))]


def _base(name: str, folder: str, path: Path) -> Base:
    data = path.read_bytes()
    hot = [(0, 8 + struct.unpack("<Q", data[:8])[0])] if path.suffix == ".safetensors" else _zip_ranges(data)
    return Base(name, folder, path.suffix, data, hot)


@pytest.fixture(scope="module")
def bases(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Base]:
    """The tiny model as one .safetensors and one .ckpt (models.tiny), the tiny LoRA and the 2x upscaler .pth."""
    from tests.builders.single_file import write_tiny_single_file

    folder = tmp_path_factory.mktemp("bases")
    return {
        "safetensors": _base("safetensors", "checkpoints", write_tiny_single_file(folder / "tiny.safetensors")),
        "ckpt": _base("ckpt", "checkpoints", write_tiny_single_file(folder / "tiny.ckpt")),
        "lora": _base("lora", "lora", models_dir / "lora" / "tiny-lora.safetensors"),
        "pth": _base("pth", "upscalers", models_dir / "upscalers" / "tiny-esrgan-2x.pth"),
    }


@dataclass
class Stage:
    """A models folder holding every base, unmutated, as ``good``; one registry scans it throughout."""

    root: Path
    registry: ModelRegistry
    ticks: itertools.count[int]


@pytest.fixture(scope="module")
def stage(bases: dict[str, Base], tmp_path_factory: pytest.TempPathFactory) -> Stage:
    root = tmp_path_factory.mktemp("fuzz")
    for base in bases.values():
        (root / base.folder).mkdir(exist_ok=True)
        (root / base.relative("good")).write_bytes(base.data)
    registry = ModelRegistry(root)
    assert all(e.status == "valid" for e in registry.refresh())
    return Stage(root, registry, itertools.count(1))


@st.composite
def mutations(draw: st.DrawFn, base: Base) -> bytes:
    """``base``'s bytes after 1-4 flips, overwrites, insertions, deletions or a cut, most of them in its hot ranges."""
    data = bytearray(base.data)
    for _ in range(draw(st.integers(1, 4))):
        start, end = draw(st.sampled_from([*base.hot, (0, len(data))]))
        at = draw(st.integers(min(start, len(data) - 1), max(min(end, len(data)) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "value", "insert", "delete", "cut"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "value":
            width = draw(st.sampled_from([1, 2, 4, 8]))
            value = draw(st.sampled_from(INTERESTING)) % 2 ** (8 * width)
            data[at : at + width] = value.to_bytes(width, "little")
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            del data[at:]
        if not data:
            break
    return bytes(data)


def scan_mutated(stage: Stage, base: Base, data: bytes) -> None:
    """Scan ``data`` as ``x`` beside the good files: bounded, nothing raised, the good files listed valid."""
    path = stage.root / base.relative("x")
    path.write_bytes(data)
    tick = next(stage.ticks)
    os.utime(path, ns=(tick, tick))  # a new fingerprint every example, whatever the clock's granularity
    tracemalloc.start()
    started = time.perf_counter()
    try:
        listed = {e.path: e for e in stage.registry.refresh()}
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    mutated = listed[base.relative("x")]
    event(f"{base.name}: {mutated.status} {' '.join((mutated.reason or '').split()[:3])}")
    assert mutated.status == "valid" or mutated.reason
    assert all(e.status == "valid" for p, e in listed.items() if p.rsplit("/", 1)[-1].startswith("good"))
    assert seconds < TIME_BOUND, f"{seconds:.2f} s"
    assert peak < MEMORY, f"{peak / 2**20:.1f} MB"


@FUZZ
@given(data=st.data())
def test_mutated_model_files_never_escape_the_registry(bases: dict[str, Base], stage: Stage, data) -> None:
    """A real tiny model file with random damage is listed (valid, or invalid with a reason) within the time and
    memory bounds, and the unmutated files stay valid beside it."""
    base = bases[data.draw(st.sampled_from(sorted(bases)), label="base")]
    scan_mutated(stage, base, data.draw(mutations(base), label="mutated"))


def _pickle_of(base: Base) -> bytes:
    with zipfile.ZipFile(BytesIO(base.data)) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))


def _zipped(data_pkl: bytes) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
    return buffer.getvalue()


@FUZZ
@given(data=st.data())
def test_mutated_checkpoint_pickles_never_escape_the_registry(bases: dict[str, Base], stage: Stage, data) -> None:
    """The tiny checkpoint's data.pkl with random damage, re-zipped with a valid CRC (so the pickle reader, not the
    zip's checksum, meets the damage), is listed within the bounds."""
    pickled = _pickle_of(bases["ckpt"])
    damaged = data.draw(mutations(Base("ckpt", "checkpoints", ".ckpt", pickled, [(0, 4096)])), label="data.pkl")
    scan_mutated(stage, bases["ckpt"], _zipped(damaged))


OPCODES = [
    *(b"}", b"]", b")", b"(", b"N", b"\x88", b"\x89", b"0", b"1", b"2", b"s", b"u", b"a", b"e", b"t", b"l", b"d"),
    *(b"\x85", b"\x86", b"\x87", b"R", b"\x81", b"\x92", b"Q", b"b", b"\x93", b"\x94", b"\x8f", b"\x90", b"\x91"),
    *(b"K\x05", b"J\xff\xff\xff\xff", b"M\x00\x01", b"\x8a\x01\x05", b"\x8b\x02\x00\x00\x00\x01\x02", b"G" + b"\0" * 8),
    *(b"q\x00", b"q\x01", b"h\x00", b"h\x01", b"r\x02\x00\x00\x00", b"j\x02\x00\x00\x00", b"p0\n", b"g0\n"),
    *(crafted.text("state_dict"), crafted.text("storage"), crafted.text("0"), b"\x8c\x03cpu", b"C\x02ab"),
    *(crafted.global_("torch._utils", "_rebuild_tensor_v2"), crafted.global_("torch", "HalfStorage")),
    *(crafted.global_("collections", "OrderedDict"), crafted.global_("torch._utils", "_rebuild_parameter")),
    crafted.tensor("0", crafted.int_tuple([4])),
    b"}" + crafted.text("state_dict") + b"}(",
    b"X\xff\xff\xff\x7fab",
    b"\x95\x08\x00\x00\x00\x00\x00\x00\x00",
    b".",
]


@settings(max_examples=200, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(st.one_of(st.sampled_from(OPCODES), st.binary(max_size=6)), max_size=60),
    framed=st.booleans(),
)
def test_generated_opcode_streams_only_ever_give_a_header_none_or_invalid(chunks: list[bytes], framed: bool) -> None:
    """Any opcode stream gives a header, None (nothing to read), or InvalidModel; never another exception, and
    within TIME_BOUND and MEMORY."""
    data = (crafted.PROTO2 if framed else b"") + b"".join(chunks) + (b"." if framed else b"")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        header_from_pickle(data, "archive")
    except InvalidModel as exc:
        assert str(exc)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seconds < TIME_BOUND
    assert peak < MEMORY
