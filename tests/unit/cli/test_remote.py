"""The client commands' parts that need no server: flags to request fields, the credentials file."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from cli.main import build_parser
from cli.remote import credentials
from cli.remote.generate import request_fields
from cli.remote.parsers import size


def test_size_is_width_x_height() -> None:
    assert size("768x512") == (768, 512)
    with pytest.raises(argparse.ArgumentTypeError):
        size("768")


def test_flags_become_only_the_fields_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDQ_SERVER", raising=False)
    args = build_parser().parse_args(
        ["generate", "a lighthouse", "--steps", "30", "--size", "768x512", "--seed", "42", "--param", "hr_scale=2",
         "--param", "sampler=DPM++ 2M"]
    )  # fmt: skip
    assert request_fields(args) == {
        "prompt": "a lighthouse", "steps": 30, "seed": 42, "width": 768, "height": 512, "hr_scale": 2,
        "sampler": "DPM++ 2M",
    }  # fmt: skip
    assert args.server == "http://127.0.0.1:8000"
    inpaint = build_parser().parse_args(["inpaint", "in.png", "mask.png", "a door", "--mask-blur", "8"])
    assert request_fields(inpaint) == {
        "prompt": "a door",
        "image": Path("in.png"),
        "mask": Path("mask.png"),
        "mask_blur": 8,
    }
    upscale = build_parser().parse_args(["upscale", "in.png", "--scale", "4"])
    assert request_fields(upscale) == {"image": Path("in.png"), "scale": 4.0}


def test_the_server_comes_from_sdq_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDQ_SERVER", "http://gpu:9000")
    assert build_parser().parse_args(["queue"]).server == "http://gpu:9000"
    assert build_parser().parse_args(["queue", "--server", "http://other"]).server == "http://other"


def test_credentials_are_kept_per_server_in_a_0600_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = credentials.save("http://a/", {"api_key": "sdq_a"})
    credentials.save("http://b", {"access_token": "t", "refresh_token": "r", "expires_at": 1.0})
    assert path == tmp_path / "sdqueue" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.load("http://a") == {"api_key": "sdq_a"}
    credentials.save("http://a", None)
    assert credentials.load("http://a") == {} and credentials.load("http://b")["refresh_token"] == "r"


def test_the_config_dir_defaults_to_dot_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert credentials.credentials_path() == tmp_path / ".config" / "sdqueue" / "credentials.json"


def test_the_progress_bar_shows_stage_step_eta_and_rate() -> None:
    import io

    from cli.remote.progress import ProgressBar
    from client.events import JobEvent

    out = io.StringIO()
    bar = ProgressBar("j", file=out)
    bar.update(JobEvent("queued", {"position": 3}))
    bar.update(JobEvent("progress", {"stage": "denoising", "step": 3, "total": 12, "its": 4.2, "eta_seconds": 2.1}))
    bar.update(JobEvent("finished", {}))
    bar.close()
    frames = out.getvalue().split("\r")
    assert any(frame.startswith("queued #3") for frame in frames)
    assert any("denoising" in f and "3/12" in f and "ETA 2.1s" in f and "4.20 it/s" in f for f in frames)
