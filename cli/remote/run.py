"""Dispatch of the client commands, and the one place that turns client errors into messages and exit codes."""

from __future__ import annotations

import argparse
import json
import sys

from cli.remote import EXIT_BAD_INPUT, EXIT_CANCELED, EXIT_FAILED
from client.errors import ContentBlocked, InvalidRequest, PayloadTooLarge, SdqueueError, Unauthorized

BAD_INPUT = (InvalidRequest, ContentBlocked, PayloadTooLarge)


def run_remote(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_CANCELED
    except SdqueueError as error:
        describe(error, args)
        return EXIT_BAD_INPUT if isinstance(error, BAD_INPUT) else EXIT_FAILED
    except OSError as error:  # an image file that cannot be read, an output folder that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(error, FileNotFoundError) else EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    from cli.remote import login

    if args.command == "login":
        return login.run_login(args)
    if args.command == "logout":
        return login.run_logout(args)
    from cli.remote.connect import open_client

    with open_client(args) as client:
        if args.command in ("generate", "img2img", "inpaint", "upscale"):
            from cli.remote.generate import run_generation

            return run_generation(client, args)
        from cli.remote import listing

        runner = {"jobs": listing.run_jobs, "cancel": listing.run_cancel, "models": listing.run_models}
        return runner.get(args.command, listing.run_queue)(client, args)


def describe(error: SdqueueError, args: argparse.Namespace) -> None:
    """The problem, plainly on stderr (each refused field on its own line); as JSON on stdout with --json."""
    problem = error.problem
    if getattr(args, "json", False):
        print(json.dumps(problem.model_dump(mode="json")))
    lines = [f"error: {problem.title.lower()} ({problem.code}): {problem.detail}"]
    if isinstance(error, InvalidRequest):
        lines += [f"  {name or 'request'}: {msg}" for name, msg in error.fields.items()]
    if isinstance(error, Unauthorized):
        lines.append(f"  (sdqueue login --server {args.server}, or --api-key)")
    print("\n".join(lines), file=sys.stderr)
