"""``sdqueue users add|passwd|disable|enable|list`` and ``sdqueue keys create|list|revoke``: the first admin
and scripts. They talk to Redis directly (``SDQ_REDIS_URL``), not to the API."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import UTC, datetime

from schemas.auth import Role, Scope
from schemas.settings import Settings


def add_parsers(commands: argparse._SubParsersAction, common: object) -> None:  # type: ignore[type-arg]
    users = commands.add_parser("users", help="manage local accounts")
    user_cmds = users.add_subparsers(dest="action", required=True)
    add = user_cmds.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", action="append", choices=[r.value for r in Role], help="repeatable; default user")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = user_cmds.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    for action in ("disable", "enable"):
        user_cmds.add_parser(action, help=f"{action} a user").add_argument("name")
    user_cmds.add_parser("list", help="list users")

    keys = commands.add_parser("keys", help="manage API keys")
    key_cmds = keys.add_subparsers(dest="action", required=True)
    create = key_cmds.add_parser("create", help="create a key (printed once)")
    create.add_argument("--owner", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", choices=[s.value for s in Scope], help="default: owner's")
    create.add_argument("--expires-days", type=int)
    listing = key_cmds.add_parser("list", help="list keys")
    listing.add_argument("--owner")
    key_cmds.add_parser("revoke", help="revoke a key").add_argument("id")
    for parser in (*user_cmds.choices.values(), *key_cmds.choices.values()):
        common(parser)  # type: ignore[operator]


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords differ")
    return first


def run_users(settings: Settings, args: argparse.Namespace) -> int:
    from auth.users import NoSuchUser, UserExists, UserStore  # here: building the parser stays free of Redis code
    from store.connection import connect

    store = UserStore(connect(settings.redis_url))
    try:
        if args.action == "add":
            roles = [Role(r) for r in (args.role or ["user"])]
            store.create(args.name, _password(args.password_stdin), roles)
            print(f"created user {args.name} ({', '.join(roles)})")
        elif args.action == "passwd":
            store.set_password(args.name, _password(args.password_stdin))
            print(f"password of {args.name} changed")
        elif args.action in ("disable", "enable"):
            store.set_disabled(args.name, args.action == "disable")
            print(f"{args.name} {args.action}d")
        else:
            for user in store.all():
                state = "disabled" if user.disabled else "active"
                print(f"{user.name}\t{','.join(user.roles)}\t{state}")
    except (ValueError, UserExists, NoSuchUser) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    from auth.apikeys import ApiKeyStore
    from auth.principal import scopes_for_roles
    from auth.users import UserStore
    from store.connection import connect

    redis = connect(settings.redis_url)
    keys = ApiKeyStore(redis)
    if args.action == "create":
        owner = UserStore(redis).get(args.owner)
        allowed = scopes_for_roles(owner.roles if owner else [Role.USER])
        scopes = sorted({Scope(s) for s in args.scope} if args.scope else allowed)
        if not set(scopes) <= allowed:
            print(f"error: {args.owner} may not hold {sorted(set(scopes) - allowed)}", file=sys.stderr)
            return 1
        expires = time.time() + args.expires_days * 86400 if args.expires_days else None
        record, key = keys.create(args.owner, args.name, scopes, expires)
        print(key)
        print(
            f"id {record.id}, owner {record.owner}, scopes {','.join(scopes)} (the key is shown only now)",
            file=sys.stderr,
        )
    elif args.action == "list":
        for record in keys.of_owner(args.owner):
            expiry = datetime.fromtimestamp(record.expires_at, UTC).isoformat() if record.expires_at else "never"
            print(f"{record.id}\t{record.owner}\t{record.name}\t{','.join(record.scopes)}\t{expiry}")
    elif not keys.revoke(args.id):
        print(f"error: no key {args.id}", file=sys.stderr)
        return 1
    else:
        print(f"revoked {args.id}")
    return 0
