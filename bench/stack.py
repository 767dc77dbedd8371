"""A whole sdqueue on this machine for the benchmarks: its own redis-server (AOF optional), the API and a worker,
on the tiny random model, in a temporary folder. Each figure in a note comes from a script that uses this."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


class BenchStack:
    """``with BenchStack() as stack:`` starts Redis, then ``start_worker()`` / ``start_api()`` as needed."""

    def __init__(self, *, aof: bool = False, env: dict[str, str] | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="sdq-bench-"))
        self.models_dir = self.workdir / "models"
        self.aof = aof
        self.redis_port, self.api_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.redis: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.env = dict(
            os.environ,
            SDQ_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            SDQ_DATA_DIR=str(self.workdir / "data"),
            SDQ_MODELS_DIR=str(self.models_dir),
            SDQ_PORT=str(self.api_port),
            SDQ_LOG_LEVEL="warning",
            PYTHONPATH=str(ROOT),
            HF_HUB_OFFLINE="1",
            **(env or {}),
        )

    def __enter__(self) -> BenchStack:
        from models.tiny import write_tiny_model

        write_tiny_model(self.models_dir / "checkpoints" / "tiny")
        self.start_redis()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in [*self.workers, self.api, self.redis]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- Redis --------------------------------------------------------------------------------------
    def redis_answers(self) -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            return bool(Redis(port=self.redis_port, socket_connect_timeout=1).ping())
        except RedisError:
            return False

    def start_redis(self) -> None:
        folder = self.workdir / "redis"
        folder.mkdir(exist_ok=True)
        command = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(folder)]
        command += ["--save", "", "--appendonly", "yes" if self.aof else "no", "--appendfsync", "everysec"]
        self.redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait(self.redis_answers, 15, "redis-server")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.terminate()
        self.redis.wait(timeout=30)

    # -- services -----------------------------------------------------------------------------------
    def _spawn(self, role: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        out = log.open("ab") if log else subprocess.DEVNULL
        return subprocess.Popen(
            [sys.executable, "-m", "cli", role], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )

    def start_api(self) -> None:
        self.api = self._spawn("api")

        def up() -> bool:
            try:
                return requests.get(self.base + "/api/health", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait(up, 60, "the API")

    def start_worker(self, log: Path | None = None) -> subprocess.Popen[bytes]:
        """A worker; returns once the API reports it ready (call start_api first)."""
        worker = self._spawn("worker", log)
        self.workers.append(worker)
        wait(lambda: requests.get(self.base + "/api/ready", timeout=5).status_code == 200, 120, "a worker")
        return worker

    # -- client ---------------------------------------------------------------------------------------
    def submit(self, session: requests.Session, **body: Any) -> str:
        body = {"prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2, **body}
        answer = session.post(self.base + "/api/v1/generate/txt2img", json=body, timeout=60)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def wait_job(self, session: requests.Session, job_id: str, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = session.get(f"{self.base}/api/v1/jobs/{job_id}", timeout=60).json()
            if view["status"] in ("finished", "failed", "canceled"):
                return view
            if time.monotonic() > deadline:
                raise SystemExit(f"job {job_id} still {view['status']} after {timeout} s")
            time.sleep(0.02)
