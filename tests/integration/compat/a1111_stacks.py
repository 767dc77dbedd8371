"""Helpers shared by the drop-in API tests: the webuiapi client, the CLI, the users of the secured stack."""

from __future__ import annotations

from typing import Any

import webuiapi

from tests.conftest import Stack, run_cli

PASSWORDS = {"ann": "ann-password-1", "ben": "ben-password-1"}


def client(stack: Stack, **auth: Any) -> webuiapi.WebUIApi:
    return webuiapi.WebUIApi(baseurl=stack.url("/sdapi/v1"), steps=2, **auth)


def cli(stack: Stack, *args: str, stdin: str | None = None) -> str:
    result = run_cli(stack, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
