"""Stored credentials per server: ``$XDG_CONFIG_HOME/sdqueue/credentials.json`` (else ``~/.config/...``), 0600.

    {"servers": {"http://127.0.0.1:8000": {"api_key": "sdq_..."}},
                {"https://gpu.example": {"username": "ann", "access_token": "...", "refresh_token": "...",
                                         "expires_at": 1767225600.0}}}

Refresh tokens work once, so a refreshed pair is written back at once (the client's ``on_tokens``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from schemas.auth import TokenPair


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sdqueue"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def server_key(url: str) -> str:
    return url.rstrip("/")


def load_all() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(credentials_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    servers = data.get("servers") if isinstance(data, dict) else None
    return servers if isinstance(servers, dict) else {}


def load(url: str) -> dict[str, Any]:
    entry = load_all().get(server_key(url))
    return entry if isinstance(entry, dict) else {}


def save(url: str, entry: dict[str, Any] | None) -> Path:
    """Store (or with None, forget) the entry of one server; the file is written whole, mode 0600."""
    servers = load_all()
    if entry is None:
        servers.pop(server_key(url), None)
    else:
        servers[server_key(url)] = entry
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"servers": servers}, out, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def token_entry(username: str | None, pair: TokenPair, expires_at: float) -> dict[str, Any]:
    return {
        "username": username,
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": expires_at,
    }
