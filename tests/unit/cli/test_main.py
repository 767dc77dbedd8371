"""CLI: the bind guard while there is no authentication."""

from __future__ import annotations

import pytest

from cli.main import check_bind, is_loopback
from schemas.settings import Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "localhost", "::1"])
def test_loopback_hosts_bind_freely(host: str) -> None:
    assert is_loopback(host)
    assert check_bind(Settings(host=host), insecure=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_other_hosts_need_insecure(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDQ_INSECURE", raising=False)
    refusal = check_bind(Settings(host=host), insecure=False)
    assert refusal is not None and "--insecure" in refusal
    assert check_bind(Settings(host=host), insecure=True) is None
    monkeypatch.setenv("SDQ_INSECURE", "1")
    assert check_bind(Settings(host=host), insecure=False) is None
