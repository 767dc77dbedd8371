"""Helpers shared by the drop-in API tests: the webuiapi client, the CLI, the users of the secured stack."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import webuiapi

from tests.conftest import ROOT, Stack

PASSWORDS = {"ann": "ann-password-1", "ben": "ben-password-1"}


def client(stack: Stack, **auth: Any) -> webuiapi.WebUIApi:
    return webuiapi.WebUIApi(baseurl=stack.url("/sdapi/v1"), steps=2, **auth)


def cli(stack: Stack, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=stack.env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
