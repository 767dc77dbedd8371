"""Scanning a models folder that holds one crafted file next to a good checkpoint."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.registry import ModelRegistry
from schemas.models import ModelEntry
from tests.unit.models import crafted

GOOD = {"cond_stage_model.transformer.text_model.x": crafted.entry([2], [0, 4])}
# A crafted file's scan is bounded by its reader's limits; these bounds leave room for a busy 2-core machine.
QUICK = 2.0  # seconds: a limit that stops the reader early
SLOW = 10.0  # seconds: the limits that let the reader run longest (opcodes, objects), ~1-2.5 s here
TRACED = 5  # tracemalloc records every allocation: a traced scan may take this many times longer
MEMORY = 64 * 2**20  # bytes of peak Python allocation during one scan


@dataclass
class Scanned:
    entry: ModelEntry
    listed: dict[str, ModelEntry]
    seconds: float
    peak_bytes: int | None

    def assert_invalid(self, *words: str, within: float = QUICK) -> None:
        """The crafted entry is invalid, its reason holds ``words``; the scan took less than ``within`` seconds (and
        less than ``MEMORY`` when traced); the good checkpoint is listed as valid beside it."""
        assert self.entry.status == "invalid", self.entry
        assert all(word in (self.entry.reason or "") for word in words), self.entry.reason
        assert self.seconds < within * (TRACED if self.peak_bytes is not None else 1), f"{self.seconds:.2f} s"
        assert self.peak_bytes is None or self.peak_bytes < MEMORY, f"{self.peak_bytes / 2**20:.1f} MB"
        assert self.listed["checkpoint:good"].status == "valid"


ScanCrafted = Callable[..., Scanned]


@pytest.fixture
def scan_crafted(tmp_path: Path) -> ScanCrafted:
    """``scan(relative_path, build, trace_memory=False)``: ``build(path)`` writes the crafted file at
    ``<models>/<relative_path>``, next to ``checkpoints/good.safetensors``; one registry scan follows."""

    def scan(relative: str, build: Callable[[Path], object], trace_memory: bool = False) -> Scanned:
        root = tmp_path / "models"
        crafted.safetensors(root / "checkpoints" / "good.safetensors", GOOD, b"\0" * 4)
        build(root / relative)
        if trace_memory:
            tracemalloc.start()
        started = time.perf_counter()
        try:
            entries = ModelRegistry(root).refresh()
        finally:
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
            tracemalloc.stop()
        listed = {e.id: e for e in entries}
        return Scanned(next(e for e in entries if e.path == relative), listed, seconds, peak)

    return scan
