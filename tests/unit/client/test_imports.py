"""``import client`` and the CLI's client commands stay light: no service package, no Redis, no torch."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("torch", "diffusers", "transformers", "redis", "rq", "server", "worker", "models", "auth", "store")


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {name.split(".")[0] for name in result.stdout.split()}


def test_import_client_loads_nothing_heavy_and_not_even_httpx() -> None:
    loaded = loaded_after("import client")
    assert not loaded & {*HEAVY, "httpx", "pydantic"}


def test_the_client_itself_loads_no_service_package_nor_torch() -> None:
    loaded = loaded_after("from client import AsyncClient, Client")
    assert "httpx" in loaded and not loaded & set(HEAVY)


def test_a_client_command_loads_no_service_package_nor_torch() -> None:
    code = "from cli.main import main\nassert main(['queue', '--server', 'http://127.0.0.1:9']) == 1"
    loaded = loaded_after(code)
    assert "client" in loaded and not loaded & set(HEAVY)
