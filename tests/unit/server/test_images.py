"""Inputs and uploads on disk: written 0600 like the worker's outputs, atomically."""

from __future__ import annotations

import stat
from pathlib import Path

from PIL import Image

from server.images import write_png


def test_written_pngs_are_private_and_complete(tmp_path: Path) -> None:
    """write_png leaves a mode-0600 PNG (whatever the umask) and no temporary file beside it."""
    path = tmp_path / "inputs" / "job" / "init_image.png"
    write_png(Image.new("RGB", (8, 8), "red"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["init_image.png"]
    with Image.open(path) as image:
        assert image.size == (8, 8) and image.getpixel((0, 0)) == (255, 0, 0)
    write_png(Image.new("RGB", (4, 4)), path)  # replacing keeps the mode
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
