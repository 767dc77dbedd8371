"""``sdqueue login [USERNAME] | --api-key-stdin`` and ``sdqueue logout``: credentials per server, checked first."""

from __future__ import annotations

import argparse
import getpass
import sys

from cli.remote import EXIT_BAD_INPUT, EXIT_OK, credentials
from client.sync_client import Client
from schemas.auth import TokenPair


def _secret(prompt: str, from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def run_login(args: argparse.Namespace) -> int:
    if args.api_key_stdin or (args.api_key and not args.username):
        key = args.api_key if args.api_key and not args.api_key_stdin else _secret("API key: ", True)
        with Client(args.server, api_key=key) as client:
            me = client.me()
        path = credentials.save(args.server, {"api_key": key})
    elif args.username:
        stored: dict[str, object] = {}

        def keep(pair: TokenPair, expires_at: float) -> None:
            stored.update(credentials.token_entry(args.username, pair, expires_at))

        password = _secret("password: ", args.password_stdin)
        with Client(args.server, username=args.username, password=password, on_tokens=keep) as client:
            me = client.me()
        path = credentials.save(args.server, stored)
    else:
        print("give a USERNAME (password asked or --password-stdin) or --api-key-stdin", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"logged in to {args.server} as {me.user} ({me.method}); credentials in {path}", file=sys.stderr)
    return EXIT_OK


def run_logout(args: argparse.Namespace) -> int:
    path = credentials.save(args.server, None)
    print(f"forgot the credentials of {args.server} ({path})", file=sys.stderr)
    return EXIT_OK
