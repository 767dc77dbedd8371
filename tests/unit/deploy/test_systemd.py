"""deploy/systemd: the units parse, carry the hardening and the settings they promise, and ``systemd-analyze
verify`` accepts them where it is installed (with ExecStart pointed at this machine's ``sdqueue``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "deploy" / "systemd"
API, WORKER = UNITS / "sdqueue-api.service", UNITS / "sdqueue-worker@.service"
Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> values (a key may repeat, e.g. DeviceAllow); comments and blank lines skipped."""
    unit: Unit = defaultdict(lambda: defaultdict(list))
    section = ""
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep and section and key.strip().isidentifier(), f"{path.name}:{number}: {raw!r}"
        unit[section][key.strip()].append(value.strip())
    return unit


def single(unit: Unit, key: str) -> str:
    values = unit["Service"].get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


@pytest.mark.parametrize("path", [API, WORKER], ids=lambda p: p.name)
def test_units_are_hardened(path: Path) -> None:
    unit = parse_unit(path)
    assert single(unit, "User") == "sdqueue" or single(unit, "DynamicUser") == "yes"
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "CapabilityBoundingSet": "",
        "EnvironmentFile": "/etc/sdqueue/sdqueue.env",
        "ReadWritePaths": "/var/lib/sdqueue",
    }
    assert {key: single(unit, key) for key in expected} == expected
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_worker_instance_is_the_gpu_index_and_stops_gently() -> None:
    unit = parse_unit(WORKER)
    assert "SDQ_DEVICE=cuda:%i" in unit["Service"]["Environment"]
    assert single(unit, "ExecStart").endswith("sdqueue worker")
    assert single(unit, "KillSignal") == "SIGTERM" and int(single(unit, "TimeoutStopSec")) >= 60
    assert single(unit, "DevicePolicy") == "closed" and "/dev/nvidia%i rw" in unit["Service"]["DeviceAllow"]
    assert single(parse_unit(API), "ExecStart").endswith("sdqueue api")


def test_the_environment_file_names_real_settings() -> None:
    from schemas.settings import Settings

    known = {f"SDQ_{name.upper()}" for name in Settings.model_fields}
    lines = [line for line in (UNITS / "sdqueue.env").read_text().splitlines() if line and not line.startswith("#")]
    names = {line.partition("=")[0] for line in lines}
    assert names and names <= known, names - known
    assert {"SDQ_REDIS_URL", "SDQ_DATA_DIR", "SDQ_LOG_FORMAT"} <= names


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the parsing tests above still check the units)")
    sdqueue = Path(sys.executable).with_name("sdqueue")
    if not sdqueue.exists():
        pytest.skip(f"no sdqueue console script next to {sys.executable} to point ExecStart at")
    for unit in (API, WORKER):
        text = unit.read_text().replace("/opt/sdqueue/.venv/bin/sdqueue", str(sdqueue))
        (tmp_path / unit.name).write_text(text)
    targets = [str(tmp_path / API.name), str(tmp_path / "sdqueue-worker@0.service")]
    result = subprocess.run([analyze, "verify", "--man=no", *targets], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
