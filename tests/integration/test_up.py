"""`sdqueue up --demo` on an empty folder: starts its own Redis, the API and a worker, serves a job,
and a Ctrl-C (SIGINT) stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from tests.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration


def test_up_runs_everything_and_ctrl_c_stops_it(tmp_path) -> None:
    api_port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env.update(
        SDQ_PORT=str(api_port),
        SDQ_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        SDQ_CONFIG=str(tmp_path / "none.toml"),
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
    )
    up = subprocess.Popen([sys.executable, "-m", "cli", "up", "--demo"], cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{api_port}"
    try:

        def ready() -> bool:
            assert up.poll() is None, "sdqueue up exited"
            try:
                return requests.get(base + "/api/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(ready, 120, "sdqueue up ready", interval=0.2)
        children = psutil.Process(up.pid).children(recursive=True)
        assert len(children) == 3  # redis-server, worker, api
        assert (tmp_path / "models" / "checkpoints" / "tiny" / "model_index.json").is_file()
        assert (tmp_path / "data" / "redis" / "appendonlydir").is_dir()  # AOF on

        job = requests.post(
            base + "/api/v1/generate/txt2img",
            json={"prompt": "x", "width": 64, "height": 64, "steps": 2},
            timeout=10,
        ).json()

        def finished() -> bool:
            view = requests.get(f"{base}/api/v1/jobs/{job['id']}", timeout=10).json()
            return view["status"] == "finished"

        wait_until(finished, 60, "demo job")
        assert (tmp_path / "data" / "outputs" / job["id"] / "0.png").is_file()

        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
        time.sleep(0.2)
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if up.poll() is None:
            up.kill()
