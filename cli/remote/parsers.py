"""Argument parsers of the client commands (argparse only: building them imports no HTTP code)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from client.api import DEFAULT_SERVER

SERVER_ENV = "SDQ_SERVER"
API_KEY_ENV = "SDQ_API_KEY"


def size(value: str) -> tuple[int, int]:
    """``768x512`` → (768, 512)."""
    width, sep, height = value.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise argparse.ArgumentTypeError(f"size is WIDTHxHEIGHT, e.g. 768x512, not {value!r}")
    return int(width), int(height)


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get(SERVER_ENV) or DEFAULT_SERVER,
        help=f"the sdqueue server (default ${SERVER_ENV}, else {DEFAULT_SERVER})",
    )
    parser.add_argument("--api-key", default=os.environ.get(API_KEY_ENV), help=f"an API key (default ${API_KEY_ENV})")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")


def _generation(parser: argparse.ArgumentParser, *, prompt: bool = True) -> None:
    if prompt:
        parser.add_argument("prompt", help="what to draw")
        parser.add_argument("-n", "--negative", dest="negative_prompt", help="what to avoid")
        parser.add_argument("-m", "--model", help="checkpoint (default: the server's)")
        parser.add_argument("--steps", type=int)
        parser.add_argument("--size", type=size, help="WIDTHxHEIGHT, e.g. 768x512")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--cfg", dest="cfg_scale", type=float, help="guidance scale")
        parser.add_argument("--sampler", help="e.g. euler_a or 'DPM++ 2M'")
        parser.add_argument("--scheduler", choices=["automatic", "karras", "exponential", "normal"])
        parser.add_argument("--batch", dest="batch_size", type=int, help="images per job")
    parser.add_argument("--priority", choices=["high", "normal", "low"])
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="any other request field (JSON value)"
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("."), help="folder for the images (default .)")
    parser.add_argument("--thumbnails", action="store_true", help="save the WebP thumbnails too")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none off a terminal)")
    parser.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    _connection(parser)


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    generate = commands.add_parser("generate", help="txt2img on a server: follow it, save the images")
    _generation(generate)

    img2img = commands.add_parser("img2img", help="img2img from an image file")
    img2img.add_argument("image", type=Path)
    _generation(img2img)
    img2img.add_argument("--strength", type=float, help="0 = the input, 1 = a new image")

    inpaint = commands.add_parser("inpaint", help="repaint the white part of MASK in IMAGE")
    inpaint.add_argument("image", type=Path)
    inpaint.add_argument("mask", type=Path)
    _generation(inpaint)
    inpaint.add_argument("--strength", type=float)
    inpaint.add_argument("--mask-blur", type=int)
    inpaint.add_argument("--invert-mask", action="store_true", default=None)

    upscale = commands.add_parser("upscale", help="upscale an image file")
    upscale.add_argument("image", type=Path)
    upscale.add_argument("--scale", type=float, help="output = input x scale (default 2)")
    upscale.add_argument("--upscaler", help="lanczos, bicubic, nearest or a model (default lanczos)")
    upscale.add_argument("--tile-size", type=int)
    _generation(upscale, prompt=False)

    login = commands.add_parser("login", help="store credentials for a server (user's config directory, 0600)")
    login.add_argument("username", nargs="?", help="log in with a password (asked, or --password-stdin)")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.add_argument("--api-key-stdin", action="store_true", help="store an API key read from standard input")
    _connection(login)
    logout = commands.add_parser("logout", help="forget the stored credentials of a server")
    _connection(logout)

    jobs = commands.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--status", choices=["queued", "started", "finished", "failed", "canceled"])
    jobs.add_argument("--mode")
    jobs.add_argument("--limit", type=int, default=20)
    _connection(jobs)
    cancel = commands.add_parser("cancel", help="cancel a job")
    cancel.add_argument("id")
    _connection(cancel)
    models = commands.add_parser("models", help="list the server's models")
    models.add_argument("--type", help="checkpoint, lora, vae, controlnet, upscaler, embedding, ...")
    _connection(models)
    queue = commands.add_parser("queue", help="the server's queue and workers")
    _connection(queue)
