"""One production-like stack, shared by this module (one API and one worker start, to keep CI lean):

- Redis Sentinel and passwords, with Debian's ``redis-sentinel``: a primary and a replica with ``requirepass``, one
  sentinel watching them. API and worker use ``redis+sentinel://:PASSWORD@host:port/sdq/0``; the primary is killed
  (-9) while jobs are queued and one is running; the sentinel promotes the replica and every job still finishes.
- ``SDQ_LOG_FORMAT=json``: every line is one JSON object; a request's lines carry its ``X-Request-ID`` (echoed,
  sanitised, or made up) and user; the job stores the request id, and the worker's lines for that job carry the job
  id, the same request id and the worker's name.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from store.connection import connect
from tests.conftest import Stack, free_port, launch_stack, stop_process, wait_until

pytestmark = pytest.mark.integration

KEYS = {"time", "level", "logger", "message", "request_id", "job_id", "user", "worker"}
PASSWORD = "s3cret-pass/with:odd@chars"
SERVICE = "sdq"


def redis_binaries() -> tuple[str, str]:
    server, sentinel = shutil.which("redis-server"), shutil.which("redis-sentinel")
    if server is None or sentinel is None:
        pytest.fail("redis-server and redis-sentinel are needed (apt-get install -y redis-server redis-sentinel)")
    return server, sentinel


@dataclass
class SentinelSet:
    primary_port: int
    replica_port: int
    sentinel_port: int
    processes: dict[int, subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"redis+sentinel://:{quote(PASSWORD, safe='')}@127.0.0.1:{self.sentinel_port}/{SERVICE}/0"

    def node(self, port: int) -> Redis:
        return Redis(port=port, password=PASSWORD, socket_connect_timeout=1, socket_timeout=5)

    def primary_address(self) -> tuple[str, int]:
        host, port = Redis(port=self.sentinel_port).sentinel_get_master_addr_by_name(SERVICE)
        return host, int(port)


def _node(binary: str, folder: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    command += ["--appendonly", "yes", "--requirepass", PASSWORD, "--masterauth", PASSWORD, *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    server, sentinel = redis_binaries()
    root = tmp_path_factory.mktemp("sentinel")
    primary, replica, watcher = free_port(), free_port(), free_port()
    found = SentinelSet(primary, replica, watcher, {})
    found.processes[primary] = _node(server, root / "primary", primary)
    found.processes[replica] = _node(server, root / "replica", replica, "--replicaof", "127.0.0.1", str(primary))

    def in_sync() -> bool:
        try:
            return found.node(replica).info("replication").get("master_link_status") == "up"
        except RedisError:
            return False

    wait_until(in_sync, 30, "replica in sync", interval=0.05)  # first, so the sentinel's first look finds it
    config = root / "sentinel.conf"
    config.write_text(
        f"port {watcher}\nbind 127.0.0.1\ndir {root}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 1\n"
        f'sentinel auth-pass {SERVICE} "{PASSWORD}"\n'
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 10000\n"
    )
    found.processes[watcher] = subprocess.Popen([sentinel, str(config)], stdout=subprocess.DEVNULL)

    def replicated() -> bool:
        try:
            return bool(Redis(port=watcher).sentinel_slaves(SERVICE))
        except RedisError:
            return False

    wait_until(replicated, 30, "the replica known to the sentinel", interval=0.05)
    yield found
    for process in found.processes.values():
        stop_process(process)


@dataclass
class LoggedStack:
    stack: Stack
    api_log: Path
    worker_log: Path


@pytest.fixture(scope="module")
def sentinel_stack(sentinels: SentinelSet, models_dir: Path, tmp_path_factory) -> Iterator[LoggedStack]:
    """API and worker on the sentinel URL, logging JSON lines to files."""
    folder = tmp_path_factory.mktemp("stack")
    api_log, worker_log = folder / "api.log", folder / "worker.log"
    env = {"SDQ_QUEUE_NAME": "failover", "SDQ_LOG_FORMAT": "json"}
    stack = launch_stack(sentinels.url, models_dir, folder / "data", worker=False, log=api_log, **env)
    try:
        stack.start_worker(log=worker_log)
        yield LoggedStack(stack, api_log, worker_log)
    finally:
        stack.stop()


def test_the_password_is_required_and_taken_from_the_url(sentinels: SentinelSet) -> None:
    from urllib.parse import quote

    port = sentinels.replica_port
    assert connect(f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/0").ping()
    with pytest.raises(AuthenticationError):
        connect(f"redis://:wrong@127.0.0.1:{port}/0").ping()
    with pytest.raises((AuthenticationError, ResponseError)):  # NOAUTH
        connect(f"redis://127.0.0.1:{port}/0").ping()


def json_lines(path: Path) -> list[dict]:
    text = path.read_text() if path.exists() else ""
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # fails the test on any line that is not one JSON object
        assert entry.keys() >= KEYS, line
        entries.append(entry)
    return entries


def test_json_logs_follow_a_request_into_the_worker(sentinel_stack: LoggedStack) -> None:
    stack, api_log, worker_log = sentinel_stack.stack, sentinel_stack.api_log, sentinel_stack.worker_log

    made = requests.get(stack.url("/api/health"), timeout=10).headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    given = 'trace-42 <b>"x"; ' + "z" * 100
    body = {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2, "model": "broken"}
    answer = requests.post(
        stack.url("/api/v1/generate/txt2img"), json=body, headers={"X-Request-ID": given}, timeout=10
    )
    assert answer.status_code == 202, answer.text
    request_id = answer.headers["X-Request-ID"]
    assert request_id == ("trace-42bxz" + "z" * 100)[:64]
    job_id = answer.json()["id"]
    job = stack.wait_job(job_id)
    assert job["status"] == "failed" and job["request_id"] == request_id

    def api_line_for_request() -> list[dict]:
        return [e for e in json_lines(api_log) if e["request_id"] == request_id]

    api_lines = wait_until(api_line_for_request, 10, "an API log line with the request id")
    access = [e for e in api_lines if e["logger"] == "uvicorn.access" and "txt2img" in e["message"]]
    assert access and all(e["user"] == "anonymous" and e["job_id"] == job_id for e in access)

    def worker_lines_for_job() -> list[dict]:
        return [e for e in json_lines(worker_log) if e["job_id"] == job_id]

    lines = wait_until(worker_lines_for_job, 10, "a worker log line with the job id")
    in_job = [e for e in lines if e["logger"] == "worker.tasks" and "failed" in e["message"]]
    assert in_job and all(e["request_id"] == request_id and e["user"] == "anonymous" for e in in_job)
    names = [e["worker"] for e in json_lines(worker_log)]
    named = names[next(i for i, name in enumerate(names) if name) :]  # from the moment the worker has its name
    assert len(set(named)) == 1 and lines[0]["worker"] == named[0]


def test_the_cli_reaches_redis_through_the_sentinel(sentinels: SentinelSet, sentinel_stack: LoggedStack) -> None:
    """``sdqueue users add`` on the sentinel URL writes to the primary (the replica has it too)."""
    name = f"cli-{time.time_ns()}"
    command = [sys.executable, "-m", "cli", "users", "add", name, "--password-stdin"]
    env = sentinel_stack.stack.env
    done = subprocess.run(command, env=env, input="a long enough password\n", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([sys.executable, "-m", "cli", "users", "list"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and name in listed.stdout, listed.stderr
    assert sentinels.node(sentinels.primary_port).execute_command("WAIT", 1, 2000) == 1
    assert sentinels.node(sentinels.replica_port).sismember("sdq:users", name)


def _view(base_url: str, job_id: str) -> dict[str, Any] | None:
    """The job, or None while the API answers 503 (no primary during the failover)."""
    try:
        response = requests.get(f"{base_url}/api/v1/jobs/{job_id}", timeout=10)
    except requests.RequestException:
        return None
    return response.json() if response.status_code == 200 else None


def test_a_primary_failover_loses_no_queued_or_running_job(sentinels: SentinelSet, sentinel_stack) -> None:
    """Last in this module: it kills the primary."""
    stack = sentinel_stack.stack
    running = stack.submit_id(prompt="long", width=96, height=96, steps=12, seed=1)
    queued = [stack.submit_id(seed=10 + n) for n in range(3)]
    primary = sentinels.node(sentinels.primary_port)

    def is_running() -> bool:
        view = _view(stack.base_url, running)
        return bool(view and view["status"] == "started" and view["progress"]["step"] >= 1)

    wait_until(is_running, 60, "the long job running", interval=0.02)
    waiting = [_view(stack.base_url, job_id) for job_id in queued]
    assert [v and v["status"] for v in waiting] == ["queued"] * 3
    assert primary.execute_command("WAIT", 1, 2000) == 1  # what was acknowledged is on the replica
    sentinels.processes[sentinels.primary_port].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    view = _view(stack.base_url, running)
    assert view is None or view["status"] == "started"  # still running when the primary went away

    promoted = wait_until(
        lambda: sentinels.primary_address()[1] == sentinels.replica_port, 30, "the replica promoted", 0.1
    )
    assert promoted
    failover_seconds = time.monotonic() - killed_at

    def all_ended() -> list[dict[str, Any]] | None:
        views = [_view(stack.base_url, job_id) for job_id in [running, *queued]]
        if all(v and v["status"] in ("finished", "failed", "canceled") for v in views):
            return views  # type: ignore[return-value]
        return None

    views = wait_until(all_ended, 120, "every job ended after the failover", interval=0.2)
    assert [v["status"] for v in views] == ["finished"] * 4, [v.get("error") for v in views]
    for view in views:
        assert len(view["images"]) == 1
        assert (stack.data_dir / "outputs" / view["id"] / "0.png").is_file()
    print(f"failover_seconds={failover_seconds:.1f} running_job_retries={views[0]['retries']}")

    # An idle worker on a sentinel URL stops at once (store.connection.SentinelConnection: it used to hang for its
    # socket timeout, 75 s, on a connection left with the interrupted BLPOP's reply unread).
    assert stack.worker is not None
    stack.worker.send_signal(signal.SIGTERM)
    assert stack.worker.wait(timeout=15) == 0
