"""Shared fixtures: the tiny model (built once), a real redis-server, a real worker and API process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with ``checkpoints/tiny`` (tiny random SD1.x), ``checkpoints/tiny-inpaint`` (the same with a
    9-channel inpainting UNet), ``checkpoints/broken`` (tiny's layout, UNet weights replaced by garbage: the registry
    lists it, loading it fails), ``lora/tiny-lora.safetensors``, two
    ControlNets for the tiny model, ``controlnet/tiny-cn`` and ``controlnet/tiny-cn-2`` (other random weights), and
    upscalers: ``tiny-esrgan`` (4x, safetensors), ``tiny-esrgan-2x`` (2x, Real-ESRGAN-style .pth) and
    ``not-an-upscaler`` (a .pth that is no model)."""
    from models.tiny import write_tiny_model
    from tests.builders.addons import write_tiny_controlnet, write_tiny_lora, write_tiny_upscaler

    root = tmp_path_factory.mktemp("models")
    tiny = write_tiny_model(root / "checkpoints" / "tiny")
    write_tiny_model(root / "checkpoints" / "tiny-inpaint", arch="sd1-inpaint")
    write_tiny_lora(tiny, root / "lora" / "tiny-lora.safetensors")
    write_tiny_controlnet(tiny, root / "controlnet" / "tiny-cn", seed=11)
    write_tiny_controlnet(tiny, root / "controlnet" / "tiny-cn-2", seed=12)
    broken = root / "checkpoints" / "broken"
    shutil.copytree(tiny, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    write_tiny_upscaler(root / "upscalers" / "tiny-esrgan.safetensors")
    write_tiny_upscaler(root / "upscalers" / "tiny-esrgan-2x.pth", seed=1, scale=2)
    (root / "upscalers" / "not-an-upscaler.pth").write_bytes(b"these bytes are no pickle")
    return root


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            return bool(Redis.from_url(url).ping())
        except RedisError:
            return False

    wait_until(answers, 10, "redis-server")
    yield RedisServer(url, process)
    process.terminate()
    process.wait(timeout=10)


class LocalRedis:
    """A redis-server of one test's own, with AOF on (``appendfsync everysec``), that the test may stop and start
    again on the same port and folder: outages and restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def answers(self) -> bool:
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except RedisError:
            return False

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self.answers, 10, "redis-server")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): what was acknowledged is in the AOF."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture
def local_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A started LocalRedis in this test's folder; stopped after the test."""
    server = LocalRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@dataclass
class Stack:
    """A running API (and usually a worker) on one queue of a real redis-server."""

    base_url: str
    data_dir: Path
    env: dict[str, str]
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str) -> Any:
        return requests.get(self.url(path), timeout=10).json()

    def submit(self, **body: Any) -> requests.Response:
        body.setdefault("prompt", "a lighthouse at dusk")
        body.setdefault("width", 64)
        body.setdefault("height", 64)
        body.setdefault("steps", 2)
        return requests.post(self.url("/api/v1/generate/txt2img"), json=body, timeout=10)

    def submit_id(self, **body: Any) -> str:
        response = self.submit(**body)
        assert response.status_code == 202, response.text
        job_id: str = response.json()["id"]
        return job_id

    def wait_job(self, job_id: str, timeout: float = 60, until: Callable[[dict[str, Any]], bool] | None = None) -> Any:
        def reached() -> dict[str, Any] | None:
            view: dict[str, Any] = self.get(f"/api/v1/jobs/{job_id}")
            done = until(view) if until else view["status"] in ("finished", "failed", "canceled")
            return view if done else None

        return wait_until(reached, timeout, f"job {job_id}", interval=0.05)

    def run(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.wait_job(self.submit_id(**body))
        return result

    def start_worker(self, log: Path | None = None) -> subprocess.Popen[bytes]:
        """Start `sdqueue worker` and wait for its heartbeat; ``log``: a file for its stdout and stderr."""
        self.worker = start_process("worker", self.env, log=log)

        def alive() -> bool:
            assert self.worker is not None and self.worker.poll() is None, "worker exited"
            return requests.get(self.url("/api/ready"), timeout=5).status_code == 200

        wait_until(alive, 90, "worker heartbeat", interval=0.1)
        return self.worker

    def stop(self) -> None:
        stop_process(self.api)
        if self.worker is not None:
            stop_process(self.worker)


def run_cli(stack: Stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``sdqueue <args>`` with ``stack``'s settings, in a fresh interpreter; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=stack.env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def add_user(stack: Stack, name: str, password: str, role: str = "user") -> None:
    """A local account on ``stack`` (``sdqueue users add``), its password given on stdin."""
    result = run_cli(stack, "users", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def create_api_key(stack: Stack, owner: str, name: str = "t") -> str:
    """A new API key of ``owner`` on ``stack`` (``sdqueue keys create``)."""
    result = run_cli(stack, "keys", "create", "--owner", owner, "--name", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def service_env(redis_url: str, data_dir: Path, models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env.update(
        SDQ_REDIS_URL=redis_url,
        SDQ_DATA_DIR=str(data_dir),
        SDQ_MODELS_DIR=str(models_dir),
        SDQ_DEFAULT_MODEL="tiny",
        SDQ_QUEUE_NAME=f"test-{os.getpid()}",
        SDQ_CONFIG=str(data_dir / "absent.toml"),
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        # Off for the shared stacks, so that a test's seeded job is generated even when another test sent the same
        # request; tests/integration/test_cache.py turns it on (it is on by default outside the tests).
        SDQ_CACHE_ENABLED="false",
    )
    env.update(extra)
    return env


def start_process(role: str, env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    if log is None:
        return subprocess.Popen([sys.executable, "-m", "cli", role, *args], env=env, cwd=ROOT)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", role, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch_stack(
    redis_url: str, models_dir: Path, data_dir: Path, *, worker: bool = True, log: Path | None = None, **env: str
) -> Stack:
    """Start `sdqueue api` (and `sdqueue worker`) processes; wait until the API answers (and is ready).
    ``log``: a file for the API's stdout and stderr."""
    port = free_port()
    full_env = service_env(redis_url, data_dir, models_dir, SDQ_PORT=str(port), **env)
    stack = Stack(f"http://127.0.0.1:{port}", data_dir, full_env, start_process("api", full_env, log=log))

    def api_up() -> bool:
        assert stack.api.poll() is None, "api exited"
        try:
            return requests.get(stack.url("/api/health"), timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(api_up, 60, "API up", interval=0.1)
    if worker:
        stack.start_worker()
    return stack


@pytest.fixture
def make_stack(redis_server: RedisServer, models_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Factory for a dedicated stack on its own queue: make_stack(worker=False, log=path, SDQ_X="...")."""
    stacks: list[Stack] = []

    def make(*, worker: bool = True, log: Path | None = None, **env: str) -> Stack:
        env.setdefault("SDQ_QUEUE_NAME", f"q{len(stacks)}-{tmp_path.name}")
        data_dir = tmp_path / f"data{len(stacks)}"
        stack = launch_stack(redis_server.url, models_dir, data_dir, worker=worker, log=log, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def stack(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Real redis-server + `sdqueue worker` + `sdqueue api` (uvicorn) processes, shared by a session."""
    shared = launch_stack(redis_server.url, models_dir, tmp_path_factory.mktemp("data"))
    yield shared
    shared.stop()
