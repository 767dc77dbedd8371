"""``sdqueue jobs | cancel | models | queue``: the server's answers as plain tables, or JSON with ``--json``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from cli.remote import EXIT_OK
from client.sync_client import Client


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(line.rstrip() for line in lines)


def _print_json(data: Any) -> int:
    print(json.dumps(data, indent=2, default=str))
    return EXIT_OK


def run_jobs(client: Client, args: argparse.Namespace) -> int:
    page = client.jobs(status=args.status, mode=args.mode, limit=args.limit)
    if args.json:
        return _print_json(page.model_dump(mode="json"))
    rows = [
        (
            view.id,
            view.status.value,
            view.mode,
            view.model,
            f"{view.progress.step}/{view.progress.total}",
            view.timings.submitted_at.strftime("%Y-%m-%d %H:%M:%S") if view.timings.submitted_at else "",
        )
        for view in page.items
    ]
    print(table(rows, ("id", "status", "mode", "model", "step", "submitted")))
    return EXIT_OK


def run_cancel(client: Client, args: argparse.Namespace) -> int:
    result = client.cancel(args.id)
    if args.json:
        return _print_json(result.model_dump(mode="json"))
    print(f"{result.id}: {result.status.value} ({result.detail})")
    return EXIT_OK


def run_models(client: Client, args: argparse.Namespace) -> int:
    entries = client.models(type=args.type)
    if args.json:
        return _print_json([entry.model_dump(mode="json") for entry in entries])
    rows = [(e.name, e.type.value, e.arch.value, e.format, _size(e.size_bytes), e.status) for e in entries]
    print(table(rows, ("name", "type", "arch", "format", "size", "status")))
    return EXIT_OK


def run_queue(client: Client, args: argparse.Namespace) -> int:
    view = client.queue()
    if args.json:
        return _print_json(view.model_dump(mode="json"))
    print(", ".join(f"{status.value} {count}" for status, count in view.counts.items()))
    print(f"workers alive: {view.workers_alive}")
    for worker in view.workers:
        print(f"  {worker.name} ({worker.device or '?'}) job: {worker.current_job or '-'}")
    if view.jobs:
        rows = [(job.position, job.id, job.priority.value, job.mode, job.model, job.owner) for job in view.jobs]
        print(table(rows, ("#", "id", "priority", "mode", "model", "owner")))
    return EXIT_OK


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(count)
