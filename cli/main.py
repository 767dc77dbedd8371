"""``sdqueue up | api | worker | tiny-model | ...``: build the settings once and hand them to each part.

The client commands (``generate``, ``img2img``, ``inpaint``, ``upscale``, ``login``, ``jobs``, ``cancel``,
``models``, ``queue``) go to :mod:`cli.remote` before any settings are read: they talk to a server over HTTP."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from cli.remote import COMMANDS as CLIENT_COMMANDS
from schemas.settings import CONFIG_ENV, Settings, load_settings

log = logging.getLogger("sdqueue")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file (default ./sdqueue.toml, or $SDQ_CONFIG)")
    parser.add_argument("--redis-url", help="overrides SDQ_REDIS_URL")
    parser.add_argument("--data-dir", type=Path, help="overrides SDQ_DATA_DIR")
    parser.add_argument("--models-dir", type=Path, help="overrides SDQ_MODELS_DIR")


def _api_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="overrides SDQ_HOST (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="overrides SDQ_PORT (default 8000)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow binding a non-loopback address with authentication off (SDQ_AUTH=none)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdqueue", description="Self-hosted Stable Diffusion job server.")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run Redis (if none answers), the API and a worker together")
    _common(up)
    _api_flags(up)
    up.add_argument("--demo", action="store_true", help="create the tiny demo model when no model is installed")
    up.add_argument("--workers", type=_positive, default=None, help="worker processes to run (default 1)")
    up.add_argument(
        "--gpus", type=_gpu_list, default=None, help="one worker per listed GPU index, e.g. 0,1 (SDQ_DEVICE=cuda:N)"
    )

    api = commands.add_parser("api", help="run the HTTP API")
    _common(api)
    _api_flags(api)
    api.add_argument(
        "--workers", dest="api_workers", type=_positive, help="API processes sharing the port (SDQ_API_WORKERS, 1)"
    )

    worker = commands.add_parser("worker", help="run a GPU/CPU worker that drains the queue")
    _common(worker)
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument("--no-preload", action="store_true", help="do not load the default model at start")
    worker.add_argument("--device", type=_device, help="overrides SDQ_DEVICE: auto, cpu, cuda or cuda:N")
    worker.add_argument(
        "--drain",
        metavar="NAME",
        help="ask the live worker NAME (or all whose names start with NAME) to finish its job and exit; runs none",
    )

    sweep = commands.add_parser("sweep", help="delete jobs older than the retention now; print disk usage")
    _common(sweep)

    from cli.accounts import add_parsers

    add_parsers(commands, _common)

    check = commands.add_parser("watermark-check", help="read an image's invisible watermark (exit 0: it is there)")
    _common(check)
    check.add_argument("image", type=Path)
    check.add_argument("--payload", help="the payload to look for (default: SDQ_INVISIBLE_WATERMARK_PAYLOAD)")

    tiny = commands.add_parser(
        "tiny-model", help="write a tiny random SD1.x (inpainting, SDXL, SD3, Flux) diffusers folder (tests, demos)"
    )
    tiny.add_argument("directory", type=Path)
    tiny.add_argument("--seed", type=int, default=0)
    tiny.add_argument("--arch", choices=["sd1", "sd1-inpaint", "sdxl", "sd3", "flux", "flux-schnell"], default="sd1")

    from cli.remote.parsers import add_parsers as add_client_parsers

    add_client_parsers(commands)
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _gpu_list(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",")]
    if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise argparse.ArgumentTypeError(f"expected distinct GPU indexes like 0,1,2, got {value!r}")
    return [int(p) for p in parts]


def _device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d{1,2})?", value):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {value!r}")
    return value


def settings_from(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ[CONFIG_ENV] = str(args.config)  # children of `up` read the same file
    return load_settings(
        redis_url=getattr(args, "redis_url", None),
        data_dir=getattr(args, "data_dir", None),
        models_dir=getattr(args, "models_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        api_workers=getattr(args, "api_workers", None),
        device=getattr(args, "device", None),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, insecure: bool) -> str | None:
    """Refuse a non-loopback bind with authentication off (SDQ_AUTH=none), unless told it is on purpose."""
    if is_loopback(settings.host) or settings.auth_enabled:
        return None
    if insecure or os.environ.get("SDQ_INSECURE", "").lower() in ("1", "true", "yes"):
        log.warning("!!! API bound to %s WITHOUT AUTHENTICATION: anyone who can reach it can use it", settings.host)
        if not settings.allowed_hosts:
            log.warning(
                "without auth only Host localhost, 127.0.0.1, [::1] and the bind address is answered (a DNS "
                "rebinding guard); list the names clients use in SDQ_ALLOWED_HOSTS"
            )
        return None
    return (
        f"refusing to bind {settings.host} with authentication off (SDQ_AUTH=none): set SDQ_AUTH (e.g. jwt,api-key), "
        "bind 127.0.0.1, or pass --insecure (SDQ_INSECURE=1) if something in front of it controls access"
    )


def run_api(settings: Settings) -> int:
    import uvicorn

    from auth.keys import InsecureConfiguration
    from server.app import create_app

    try:
        app = create_app(settings)
    except InsecureConfiguration as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback peer as the client address;
    # the API decides itself whom to believe (SDQ_TRUSTED_PROXIES, auth.clients).
    # JSON logs: uvicorn's own loggers go through the root handler (configure_logging) instead of its config.
    log_config = None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=log_config,
        proxy_headers=False,
    )
    if settings.api_workers == 1:
        uvicorn.run(app, **options)
        return 0
    # Several processes: each builds its app from the environment, so the command line's overrides go there first.
    from cli.up import export_settings

    export_settings(settings)
    uvicorn.run("server.app:app_from_environment", factory=True, workers=settings.api_workers, **options)
    return 0


def run_sweep(settings: Settings) -> int:
    from store.connection import connect
    from worker.retention import sweep

    report = sweep(connect(settings.redis_url), settings)
    print(f"deleted {len(report.deleted)} job(s); outputs: {report.bytes} bytes in {report.folders} folder(s)")
    return 0


def run_watermark_check(settings: Settings, image_path: Path, payload: str | None) -> int:
    from PIL import Image

    from models.watermark import check_invisible

    with Image.open(image_path) as image:
        check = check_invisible(image.convert("RGB"), payload or settings.invisible_watermark_payload)
    print(check.model_dump_json())
    return 0 if check.watermarked else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in CLIENT_COMMANDS:  # a client of some server: no settings, no service code
        from cli.remote.run import run_remote

        return run_remote(args)
    if args.command == "tiny-model":
        from models.tiny import write_tiny_model

        write_tiny_model(args.directory, seed=args.seed, arch=args.arch)
        print(f"wrote a tiny random {args.arch} model to {args.directory}")
        return 0

    settings = settings_from(args)
    from store.logs import configure_logging  # here: a client command above loads no service package

    configure_logging(settings.log_level, settings.log_format)
    if args.command in ("api", "up"):
        refusal = check_bind(settings, args.insecure)
        if refusal:
            print(refusal, file=sys.stderr)
            return 2
    if args.command == "api":
        return run_api(settings)
    if args.command == "sweep":
        return run_sweep(settings)
    if args.command == "watermark-check":
        return run_watermark_check(settings, args.image, args.payload)
    if args.command in ("users", "keys"):
        from cli.accounts import run_keys, run_users

        return run_users(settings, args) if args.command == "users" else run_keys(settings, args)
    if args.command == "worker":
        return run_worker_command(settings, args)
    from cli.up import run_up, worker_devices

    devices = worker_devices(args.workers, args.gpus)
    if isinstance(devices, str):
        print(devices, file=sys.stderr)
        return 2
    return run_up(settings, demo=args.demo, insecure=args.insecure, devices=devices)


def run_worker_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.drain:
        from worker.startup import request_drain

        asked = request_drain(settings, args.drain)
        if not asked:
            print(f"no live worker of queue {settings.queue_name!r} is named {args.drain!r}", file=sys.stderr)
            return 1
        print("draining: " + ", ".join(asked))
        return 0
    from worker.startup import run_worker

    run_worker(settings, burst=args.burst, preload=not args.no_preload)
    return 0
