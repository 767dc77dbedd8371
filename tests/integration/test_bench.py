"""`bench/all.py --size smallest`: every benchmark still runs and prints its figures (no timing is asserted: the
figures of a loaded CI machine mean nothing; the notes' figures come from larger sizes)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

FIGURES = [
    "overhead_ratio",
    "cache_hit_ms_median",
    "first_job_after_idle_ms",
    "redis_commands_per_submit",
    "redis_commands_per_poll",
    "api_submits_per_s",
    "api_polls_per_s",
    "auth_redis_commands_per_submit",
    "auth_redis_commands_per_poll",
    "auth_api_submits_per_s",
    "auth_api_polls_per_s",
    "rss_growth_pct",
]


def test_every_benchmark_runs_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "bench/all.py", "--size", "smallest"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    printed = dict(line.split("=", 1) for line in done.stdout.splitlines())
    for name in FIGURES:
        assert re.fullmatch(r"-?\d+(\.\d+)?", printed.get(name, "")), (name, done.stdout)
    # Redis commands are counted, not timed: these ceilings keep round trips from creeping back into the hot paths.
    # A queued job's position reads the fair-share window (schemas.scheduling.WINDOW): here 2 jobs are queued.
    assert int(printed["redis_commands_per_submit"]) <= 28
    assert int(printed["redis_commands_per_poll"]) <= 9
    assert int(printed["auth_redis_commands_per_submit"]) <= 44  # + API key lookup, rate limits, queued count
    assert int(printed["auth_redis_commands_per_poll"]) <= 11
