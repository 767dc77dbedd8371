"""An in-process app on the session's real redis-server: ``make_app(**settings)``, with API keys for named owners."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from auth.principal import Scope
from schemas.settings import Settings
from server.app import create_app

USER_SCOPES = (Scope.GENERATE, Scope.JOBS_READ, Scope.MODELS_READ)


@dataclass
class App:
    app: FastAPI
    client: TestClient
    settings: Settings

    @property
    def state(self) -> Any:
        """The app's services (``server.app.Services`` fields, plus redis and settings)."""
        return self.app.state

    def headers(self, owner: str, scopes: tuple[Scope, ...] = USER_SCOPES) -> dict[str, str]:
        """Headers with a new API key of ``owner``."""
        _, key = self.app.state.auth.api_keys.create(owner, "test", list(scopes), None)
        return {"X-API-Key": key}


def png(width: int = 64, height: int = 64, noise: bool = False) -> bytes:
    """A PNG; ``noise`` makes it incompressible (about 3 bytes a pixel)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def fake_models(root: Path) -> Path:
    """A models folder the registry lists without torch: checkpoint ``m`` (an empty diffusers folder) and
    upscalers whose factor only their names tell (``big-16x``, ``plain``: no bytes a loader would take)."""
    (root / "checkpoints" / "m").mkdir(parents=True)
    (root / "checkpoints" / "m" / "model_index.json").write_text("{}")
    (root / "upscalers").mkdir()
    for name in ("big-16x", "plain"):
        (root / "upscalers" / f"{name}.pth").write_bytes(b"not really weights")
    return root


@pytest.fixture
def make_app(redis_server: Any, tmp_path: Path) -> Iterator[Callable[..., App]]:
    models = fake_models(tmp_path / "models")
    clients: list[TestClient] = []

    def make(**overrides: Any) -> App:
        fields: dict[str, Any] = {
            "redis_url": redis_server.url,
            "data_dir": tmp_path / "data",
            "models_dir": models,
            "queue_name": f"unit-{uuid.uuid4().hex[:8]}",
            "cache_enabled": False,
            "environment": "development",
            **overrides,
        }
        settings = Settings(**fields)
        app = create_app(settings)
        client = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return App(app, client, settings)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def owner() -> str:
    """A user name no other test uses (rates and quotas are kept per name in the shared Redis)."""
    return f"user-{uuid.uuid4().hex[:8]}"
