"""The Host guard with auth off: loopback names and SDQ_ALLOWED_HOSTS pass, a rebound name gets 421 problem+json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.settings import Settings
from server.app import create_app
from server.hosts import allowed_host_names, host_name


def client(tmp_path: Path, **settings: Any) -> TestClient:
    base = Settings(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path, models_dir=tmp_path / "models")
    return TestClient(create_app(base.model_copy(update=settings)), raise_server_exceptions=False)


def health(test_client: TestClient, host: str) -> Any:
    return test_client.get("/api/health", headers={"Host": host})


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("LocalHost", "localhost"),
        ("localhost.:80", "localhost"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("sd.lan", "sd.lan"),
        ("", None),
        ("a b", "a b"),
        ("localhost:80x", None),
        ("[::1", None),
        ("::1", None),
    ],
)
def test_host_names_are_read_without_port_case_or_brackets(header: str, name: str | None) -> None:
    """The compared name drops the port, brackets and a final dot; a malformed port or bracket is no name."""
    assert host_name(header) == name


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1234", "[::1]:8000", "localhost."])
def test_loopback_hosts_reach_the_api_with_auth_off(tmp_path: Path, host: str) -> None:
    """localhost, 127.0.0.1 and [::1] with any port are answered."""
    assert health(client(tmp_path), host).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.5"]
)
def test_a_rebound_host_is_refused_with_421_problem_details(tmp_path: Path, host: str) -> None:
    """A page's own name pointed at 127.0.0.1 (DNS rebinding) gets 421 problem+json, before any route runs."""
    response = health(client(tmp_path), host)
    assert response.status_code == 421
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unknown_host" and host in response.json()["detail"]
    assert client(tmp_path).post("/api/v1/queue/clear", headers={"Host": host}).status_code == 421


def test_allowed_hosts_and_a_specific_bind_address_are_answered(tmp_path: Path) -> None:
    """SDQ_ALLOWED_HOSTS adds names; the address the API binds to is allowed; '*' turns the check off."""
    named = client(tmp_path, allowed_hosts=["SD.lan"], host="192.168.1.10")
    assert health(named, "sd.lan:8000").status_code == 200
    assert health(named, "192.168.1.10:8000").status_code == 200
    assert health(named, "other.lan").status_code == 421
    assert health(client(tmp_path, allowed_hosts=["*"]), "anything.example").status_code == 200
    assert "0.0.0.0" not in allowed_host_names([], "0.0.0.0")


def test_with_auth_on_any_host_is_answered(tmp_path: Path) -> None:
    """Credentials, not the Host, guard an API with authentication (a proxy may use any name)."""
    assert health(client(tmp_path, auth="api-key"), "api.example.com").status_code == 200
