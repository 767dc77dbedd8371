"""The client a command uses: its server, and credentials from the flags, the environment or the stored file."""

from __future__ import annotations

import argparse
from typing import Any

from cli.remote import credentials
from client.sync_client import Client
from schemas.auth import TokenPair


def open_client(args: argparse.Namespace) -> Client:
    """``--api-key`` / ``$SDQ_API_KEY`` first, else what ``sdqueue login`` stored for the server, else none."""
    server: str = args.server
    if args.api_key:
        return Client(server, api_key=args.api_key)
    stored = credentials.load(server)
    if stored.get("api_key"):
        return Client(server, api_key=stored["api_key"])
    if stored.get("access_token"):
        username = stored.get("username")

        def keep(pair: TokenPair, expires_at: float) -> None:
            credentials.save(server, credentials.token_entry(username, pair, expires_at))

        return Client(
            server,
            token=stored["access_token"],
            refresh_token=stored.get("refresh_token"),
            token_expires_at=_number(stored.get("expires_at")),
            on_tokens=keep,
        )
    return Client(server)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
