"""Functions a worker could import (the tests' folder is on its path), for tests that name them in a Redis entry:
they leave a file behind when they run, so a test can show that they did not."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_marker(path: str) -> str:
    Path(path).write_text("ran")
    return path


def write_marker_callback(job: Any, connection: Any, *args: Any) -> None:
    Path(job.args[0]["marker"]).write_text("callback ran")
