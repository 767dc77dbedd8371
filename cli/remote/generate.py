"""``sdqueue generate | img2img | inpaint | upscale``: submit, follow with a progress bar, save the images.

Ctrl-C cancels the job and waits (briefly) for it to end ``canceled``; a second Ctrl-C leaves at once. Exit
codes: 0 finished, 1 failed, 2 bad input, 130 canceled.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.remote import EXIT_CANCELED, EXIT_FAILED, EXIT_OK
from cli.remote.progress import ProgressBar
from client.sync_client import Client
from client.sync_job import Job
from schemas.jobs import JobStatus, JobView

CANCEL_WAIT_SECONDS = 60.0
MODES = {"generate": "txt2img", "img2img": "img2img", "inpaint": "inpaint", "upscale": "upscale"}
FLAG_FIELDS = (
    "prompt",
    "negative_prompt",
    "model",
    "steps",
    "seed",
    "cfg_scale",
    "sampler",
    "scheduler",
    "batch_size",
    "priority",
    "strength",
    "mask_blur",
    "invert_mask",
    "scale",
    "upscaler",
    "tile_size",
)


def request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request's fields from the flags (only those given) and ``--param KEY=VALUE``; images as paths."""
    fields = {name: getattr(args, name) for name in FLAG_FIELDS if getattr(args, name, None) is not None}
    if getattr(args, "size", None):
        fields["width"], fields["height"] = args.size
    mode = MODES[args.command]
    if mode == "img2img":
        fields["init_image"] = args.image
    elif mode in ("inpaint", "upscale"):
        fields["image"] = args.image
    if mode == "inpaint":
        fields["mask"] = args.mask
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--param takes KEY=VALUE, not {item!r}")
        fields[key] = _value(value)
    return fields


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_generation(client: Client, args: argparse.Namespace) -> int:
    mode = MODES[args.command]
    job: Job = getattr(client, mode)(**request_fields(args))
    if not args.json:
        print(f"job {job.id}", file=sys.stderr)
    bar = ProgressBar(job.id, enabled=not args.no_progress and sys.stderr.isatty())
    try:
        view = follow(job, bar, args.timeout)
    except KeyboardInterrupt:
        bar.close()
        view = cancel(job)
    finally:
        bar.close()
    files = job.save(args.output, thumbnails=args.thumbnails) if view.status is JobStatus.FINISHED else []
    report(view, files, args.json)
    return exit_code(view)


def follow(job: Job, bar: ProgressBar, timeout: float | None) -> JobView:
    for event in job.events(timeout):
        bar.update(event)
        if event.is_terminal and event.view is not None:
            return event.view
    return job.refresh()


def cancel(job: Job) -> JobView:
    print(f"canceling job {job.id} ...", file=sys.stderr)
    job.cancel()
    return job.wait(timeout=CANCEL_WAIT_SECONDS)


def exit_code(view: JobView) -> int:
    if view.status is JobStatus.FINISHED:
        return EXIT_OK
    if view.status is JobStatus.CANCELED:
        return EXIT_CANCELED
    return EXIT_FAILED


def report(view: JobView, files: list[Path], as_json: bool) -> None:
    if as_json:
        print(json.dumps({**view.model_dump(mode="json"), "files": [str(path) for path in files]}))
        return
    if view.status is JobStatus.FINISHED:
        seconds = view.timings.run_seconds
        took = f" in {seconds:.1f}s" if seconds is not None else ""
        print(f"finished{took}; seeds {', '.join(map(str, view.seeds))}", file=sys.stderr)
        for path in files:
            print(path)
    elif view.status is JobStatus.FAILED and view.error is not None:
        print(f"job {view.id} failed: {view.error.code}: {view.error.detail}", file=sys.stderr)
    else:
        print(f"job {view.id} {view.status.value}", file=sys.stderr)
