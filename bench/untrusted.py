"""Crafted model files against the registry: what one scan of each costs (time, peak RSS) and what it answers.

Each case puts one crafted file (``tests/unit/models/crafted.py``) next to a good checkpoint and runs
``ModelRegistry.refresh()`` in a child process under a memory cap (``--memory-gb``) and a time limit
(``--timeout``), then prints one line per case: outcome (the crafted entry's status and reason, an exception that
escaped the scan, a crash by signal, or the time limit), seconds, peak RSS, and whether the good model was listed.
The sizes are the ones that hurt unbounded readers; run it before and after a change to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.models import crafted as c  # noqa: E402

GOOD = {"cond_stage_model.transformer.text_model.x": c.entry([2], [0, 4])}


def _folder_of_files(path: Path, count: int) -> None:
    path.mkdir(parents=True)
    (path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    for index in range(count):
        (path / f"f{index}").touch()


CASES: dict[str, tuple[str, Callable[[Path], object]]] = {
    "pickle cyclic state_dict": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.cyclic_state_dict())),
    "pickle 20M-opcode stream (zipped)": (
        "checkpoints/x.ckpt",
        lambda p: c.ckpt(p, c.opcode_flood(10**7), compress=True),
    ),
    "pickle 60M empty lists (zipped)": (
        "checkpoints/x.ckpt",
        lambda p: c.ckpt(p, c.list_flood(6 * 10**7), compress=True),
    ),
    "pickle tuple key 10^6 deep": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.deep_tuple_key(10**6), compress=True)),
    "pickle list 10^6 deep": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.deep_lists(10**6), compress=True)),
    "pickle BINUNICODE of 2^32-1": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.huge_text_length())),
    "pickle 10M memo entries": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.memo_flood(10**7), compress=True)),
    "pickle 100 x 16 MB global names": (
        "checkpoints/x.ckpt",
        lambda p: c.ckpt(p, c.name_concat(8 * 2**20, 100), compress=True),
    ),
    "pickle 10^5-dim shape x 10^4 tensors": (
        "checkpoints/x.ckpt",
        lambda p: c.ckpt(p, c.shared_shape(10**5, 10**4), compress=True),
    ),
    "pickle probe shape ('a'*1000, 10^7)": (
        "checkpoints/x.ckpt",
        lambda p: c.ckpt(
            p, c.sd2_with_probe_shape(c.pickle.MARK + c.text("a" * 1000) + c.small_int(10**7) + c.pickle.TUPLE)
        ),
    ),
    "zip data.pkl declares 4 GB": (
        "checkpoints/x.ckpt",
        lambda p: c.declare_member_size(c.ckpt(p, c.cyclic_state_dict()), "archive/data.pkl", 2**32 - 16),
    ),
    "zip 300k members": ("checkpoints/x.ckpt", lambda p: c.many_members(p, 300_000)),
    "safetensors length 2^63": ("checkpoints/x.safetensors", lambda p: c.safetensors(p, {}, length=2**63)),
    "safetensors no data_offsets": (
        "checkpoints/x.safetensors",
        lambda p: c.safetensors(p, {"a": {"dtype": "F16", "shape": [1]}}),
    ),
    "safetensors string offsets": (
        "checkpoints/x.safetensors",
        lambda p: c.safetensors(p, {"a": c.entry([1], ["0", "2"])}),
    ),
    "safetensors 10^5-deep header": ("checkpoints/x.safetensors", lambda p: c.safetensors(p, b"[" * 10**5)),
    "safetensors 90 MB header of []": (
        "checkpoints/x.safetensors",
        lambda p: c.safetensors(p, b"[" + b"[]," * (30 * 2**20) + b"[]]"),
    ),
    "model_index.json 10^5 deep": (
        "checkpoints/x",
        lambda p: (p.mkdir(parents=True), (p / "model_index.json").write_text("[" * 10**5)),
    ),
    "sidecar .yaml of 10^6 newlines": (
        "checkpoints/x.safetensors",
        lambda p: (c.safetensors(p, GOOD, b"\0" * 4), p.with_suffix(".yaml").write_text("\n" * 10**6)),
    ),
    "FIFO named x.safetensors": (
        "checkpoints/x.safetensors",
        lambda p: (p.parent.mkdir(parents=True, exist_ok=True), os.mkfifo(p)),
    ),
    "diffusers folder of 100k files": ("checkpoints/x", lambda p: _folder_of_files(p, 100_000)),
}
# The worst files that stay within the limits (models/untrusted.py and the readers' own): what a scan can cost.
WITHIN_LIMITS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "limit: 524,286 opcodes (NONE, POP)": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.opcode_flood(2**18 - 2))),
    "limit: 131,071 lists in a list": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.object_flood(2**17 - 1))),
    "limit: 131,072 memo entries": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, c.memo_flood(2**17))),
    "limit: 131,000 2-char strings in lists": ("checkpoints/x.ckpt", lambda p: c.ckpt(p, _short_strings(131_000))),
    "limit: 8 MiB header of short metadata": (
        "checkpoints/x.safetensors",
        lambda p: c.safetensors(p, {"__metadata__": {f"{i}": "ab" for i in range(520_000)}}),
    ),
    "limit: 131,072 arrays in a header": (
        "checkpoints/x.safetensors",
        lambda p: c.safetensors(p, b"[" + b"[]," * (2**17 - 2) + b"[]]"),
    ),
    "limit: 65,536 zip members": ("checkpoints/x.ckpt", lambda p: c.many_members(p, 65_536)),
    "limit: folder of 2,047 files": ("checkpoints/x", lambda p: _folder_of_files(p, 2046)),
}
CASES.update(WITHIN_LIMITS)


def _short_strings(count: int) -> bytes:
    """``count`` distinct 2-character strings, appended to lists 1,000 at a time."""
    texts = [c.pickle.SHORT_BINUNICODE + bytes([2]) + f"{i % 4096:03x}"[-2:].encode() for i in range(count)]
    batches = [c.pickle.MARK + b"".join(texts[i : i + 1000]) + c.pickle.APPENDS for i in range(0, count, 1000)]
    return c.ops(c.pickle.EMPTY_LIST + b"".join(batches))


def child(models: str, memory_gb: float) -> None:
    """Scan ``models`` once; print a JSON line with the outcome."""
    cap = int(memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from models.registry import ModelRegistry

    started = time.perf_counter()
    try:
        entries = {e.id.split(":", 1)[1]: e for e in ModelRegistry(Path(models)).refresh()}
        bad = entries.get("x")
        outcome = f"{bad.status}: {bad.reason}" if bad else "not listed"
        good = "good" in entries
    except BaseException as exc:  # the bench reports whatever escapes
        outcome, good = f"raised {type(exc).__name__}", False
    seconds = time.perf_counter() - started
    print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": _peak_rss_mb(), "good": good}))


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM; getrusage's ru_maxrss keeps the parent's from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_case(name: str, timeout: float, memory_gb: float) -> str:
    relative, build = CASES[name]
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder)
        c.safetensors(models / "checkpoints" / "good.safetensors", GOOD, b"\0" * 4)
        build(models / relative)
        command = [sys.executable, __file__, "--child", str(models), "--memory-gb", str(memory_gb)]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return f"{name:40} | still running after {timeout:.0f} s (killed)"
        if done.returncode < 0:
            elapsed = time.perf_counter() - started
            return f"{name:40} | killed by {signal.Signals(-done.returncode).name} after {elapsed:.1f} s"
        report = json.loads(done.stdout.strip().splitlines()[-1])
        cost = f"{report['seconds']:7.3f} s | {report['peak_mb']:7.0f} MB"
        return f"{name:40} | {report['outcome'][:90]:90} | {cost} | good={report['good']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60, help="seconds each scan may take")
    parser.add_argument("--memory-gb", type=float, default=4, help="address-space cap of the scanning process")
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.memory_gb)
        return
    for name in CASES:
        if args.only is None or args.only in name:
            print(run_case(name, args.timeout, args.memory_gb), flush=True)


if __name__ == "__main__":
    main()
