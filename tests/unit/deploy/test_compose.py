"""docker-compose.yml: valid against the compose-spec JSON schema (the copy check-jsonschema ships: offline), and
``docker compose config`` accepts it where Docker's compose plugin is installed; workers scale, Redis has a password."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())  # anchors and merge keys resolved
    return data


def validator() -> jsonschema.protocols.Validator:
    schema = compose_schema()
    return jsonschema.validators.validator_for(schema)(schema)  # the draft the schema names (2020-12)


def compose_schema() -> dict[str, Any]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_the_file_is_valid_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    """The check can fail: a misspelt key and a port of the wrong type are refused."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["restartt"] = "always"
    broken["services"]["api"]["volumes"] = {"data": "/data"}
    paths = {tuple(e.absolute_path) for e in validator().iter_errors(broken)}
    assert ("services", "worker") in paths and ("services", "api", "volumes") in paths


def test_workers_scale_and_each_gpu_service_names_its_device(compose: dict[str, Any]) -> None:
    services = compose["services"]
    workers = {name: s for name, s in services.items() if s.get("command") == ["sdqueue", "worker"]}
    assert {"worker", "worker-gpu1"} <= workers.keys()
    for name, service in workers.items():
        assert "container_name" not in service and "ports" not in service, name  # --scale needs neither
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["device_ids"] and devices[0]["capabilities"] == ["gpu"], name
        assert service["stop_grace_period"], name  # SIGTERM lets the job finish
    assert workers["worker-gpu1"]["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]


def test_redis_requires_a_password_and_every_client_sends_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "--requirepass" in " ".join(services["redis"]["command"])
    for name in ("api", "worker", "worker-gpu1"):
        assert services[name]["environment"]["SDQ_REDIS_URL"].startswith("redis://:${SDQ_REDIS_PASSWORD}@redis:")
        assert services[name]["environment"]["SDQ_LOG_FORMAT"] == "json"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("Docker's compose plugin is not installed (the schema test above checks the file)")
    env = {**os.environ, "SDQ_REDIS_PASSWORD": "test-password"}
    for extra in ([], ["--profile", "gpu1"]):
        result = subprocess.run(
            [*command, "-f", str(COMPOSE), *extra, "config", "--quiet"], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
