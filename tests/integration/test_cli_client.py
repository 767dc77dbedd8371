"""The ``sdqueue`` client commands as subprocesses against a real API, worker and Redis with the tiny model."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from client import Client
from tests.conftest import ROOT, Stack, run_cli, wait_until

pytestmark = pytest.mark.integration

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def client_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDQ_")}
    env.update(PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def sdqueue(stack: Stack, tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=client_env(tmp_path, SDQ_SERVER=stack.base_url),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_generate_saves_pngs_and_json_reads_back(stack: Stack, tmp_path: Path) -> None:
    """`sdqueue generate ... -o out/ --json`: exit 0, the PNGs (with infotext) and thumbnails are in out/, and
    stdout is the final job view with the files."""
    out = tmp_path / "out"
    result = sdqueue(
        stack, tmp_path, "generate", "a lighthouse at dusk", "--steps", "2", "--size", "64x64", "--seed", "42",
        "--batch", "2", "-o", str(out), "--thumbnails", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    view: dict[str, Any] = json.loads(result.stdout)
    assert view["status"] == "finished" and view["seeds"] == [42, 43]
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == [f"{view['id']}-0.png", f"{view['id']}-1.png"]
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
    with Image.open(pngs[0]) as first:
        assert "Seed: 42" in first.info["parameters"]
    assert len(list(out.glob("*.webp"))) == 2
    assert sorted(view["files"]) == sorted(str(p) for p in [*pngs, *out.glob("*.webp")])


def test_image_commands_take_files(stack: Stack, tmp_path: Path) -> None:
    """img2img, inpaint and upscale upload the given files; the outputs are PNGs of the expected size."""
    source, mask = tmp_path / "in.png", tmp_path / "mask.png"
    Image.new("RGB", (64, 48), "red").save(source)
    Image.new("L", (64, 48), 255).save(mask)
    runs = {
        "img2img": ("img2img", str(source), "watercolor", "--steps", "2", "--strength", "0.5"),
        "inpaint": ("inpaint", str(source), str(mask), "a door", "--steps", "2"),
        "upscale": ("upscale", str(source), "--scale", "2"),
    }
    for name, args in runs.items():
        result = sdqueue(stack, tmp_path, *args, "-o", str(tmp_path / name), "--json", "--no-progress")
        assert result.returncode == 0, (name, result.stderr)
        files = json.loads(result.stdout)["files"]
        assert len(files) == 1 and Path(files[0]).read_bytes()[:8] == PNG_MAGIC
    with Image.open(next((tmp_path / "upscale").glob("*.png"))) as upscaled:
        assert upscaled.size == (128, 96)


def test_bad_input_exits_2_naming_the_field(stack: Stack, tmp_path: Path) -> None:
    local = sdqueue(stack, tmp_path, "generate", "x", "--size", "65x64")
    assert local.returncode == 2 and "width" in local.stderr, local.stderr
    remote = sdqueue(stack, tmp_path, "generate", "x", "--model", "no-such-model", "--json")
    assert remote.returncode == 2 and "model" in remote.stderr, remote.stderr
    assert json.loads(remote.stdout)["code"] == "unknown_model"
    missing = sdqueue(stack, tmp_path, "img2img", str(tmp_path / "absent.png"), "x")
    assert missing.returncode == 2, missing.stderr


def test_ctrl_c_cancels_the_job_and_exits_130(stack: Stack, tmp_path: Path) -> None:
    """SIGINT while a long job (512x512, 150 steps) runs: the CLI cancels it, the job ends canceled, exit 130."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "generate", "a long one", "--size", "512x512", "--steps", "150", "--json"],
        env=client_env(tmp_path, SDQ_SERVER=stack.base_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with Client(stack.base_url) as sd:

        def running() -> str | None:
            for view in sd.jobs(status="started", limit=100).items:
                if view.request.prompt == "a long one" and view.progress.step >= 1:  # type: ignore[union-attr]
                    return view.id
            return None

        job_id = wait_until(running, 60, "the long job to run", interval=0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert json.loads(stdout)["status"] == "canceled"
        assert sd.job(job_id).view.status.value == "canceled"  # type: ignore[union-attr]


def test_jobs_cancel_models_and_queue(stack: Stack, tmp_path: Path) -> None:
    with Client(stack.base_url) as sd:
        job = sd.txt2img(prompt="a boat", steps=2, width=64, height=64)
        job.wait(timeout=60)
    listed = sdqueue(stack, tmp_path, "jobs", "--limit", "100")
    assert listed.returncode == 0 and job.id in listed.stdout, listed.stderr
    as_json = json.loads(sdqueue(stack, tmp_path, "jobs", "--json", "--limit", "100").stdout)
    assert job.id in {item["id"] for item in as_json["items"]}
    canceled = sdqueue(stack, tmp_path, "cancel", job.id)
    assert canceled.returncode == 0 and "finished" in canceled.stdout  # already ended: left as it is
    unknown = sdqueue(stack, tmp_path, "cancel", "0" * 32)
    assert unknown.returncode == 1 and "not_found" in unknown.stderr
    models = sdqueue(stack, tmp_path, "models", "--type", "checkpoint")
    assert models.returncode == 0 and "tiny-inpaint" in models.stdout
    queue = json.loads(sdqueue(stack, tmp_path, "queue", "--json").stdout)
    assert queue["workers_alive"] >= 1


def test_login_stores_credentials_per_server_0600(make_stack, tmp_path: Path) -> None:
    """`sdqueue login NAME --password-stdin` stores a token pair (mode 0600) that later commands use; an API key
    from `--api-key-stdin` likewise; without credentials the command exits 1 and says how to log in."""
    stack = make_stack(worker=False, SDQ_AUTH="jwt,api-key")
    assert run_cli(stack, "users", "add", "dora", "--password-stdin", stdin="dora-password-1\n").returncode == 0
    refused = sdqueue(stack, tmp_path, "queue")
    assert refused.returncode == 1 and "sdqueue login" in refused.stderr
    logged = sdqueue(stack, tmp_path, "login", "dora", "--password-stdin", stdin="dora-password-1\n")
    assert logged.returncode == 0, logged.stderr
    stored = tmp_path / "config" / "sdqueue" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    entry = json.loads(stored.read_text())["servers"][stack.base_url]
    assert entry["username"] == "dora" and entry["refresh_token"]
    assert sdqueue(stack, tmp_path, "queue").returncode == 0
    entry["expires_at"] = 0  # as if the access token had expired: the next command refreshes it and keeps the pair
    stored.write_text(json.dumps({"servers": {stack.base_url: entry}}))
    assert sdqueue(stack, tmp_path, "jobs").returncode == 0
    renewed = json.loads(stored.read_text())["servers"][stack.base_url]
    assert renewed["refresh_token"] != entry["refresh_token"] and renewed["expires_at"] > 0
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    created = run_cli(stack, "keys", "create", "--owner", "dora", "--name", "cli")
    keyed = sdqueue(stack, tmp_path, "login", "--api-key-stdin", stdin=created.stdout.strip() + "\n")
    assert keyed.returncode == 0, keyed.stderr
    assert json.loads(stored.read_text())["servers"][stack.base_url] == {"api_key": created.stdout.strip()}
    assert sdqueue(stack, tmp_path, "jobs").returncode == 0
    assert sdqueue(stack, tmp_path, "logout").returncode == 0
    assert sdqueue(stack, tmp_path, "jobs").returncode == 1
