"""Dockerfile.cuda's dependency layer: its stand-in packages are exactly the ones pyproject.toml lists (a listed
package that is missing makes `pip install .` fail, which is how `store`, `client` and the rest once broke it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT


def test_the_stub_step_creates_every_listed_package(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile.cuda").read_text()
    step = re.search(r'RUN python -c "(.*?)" \\\n', dockerfile, re.S)
    assert step, "the stub step is gone from Dockerfile.cuda"
    code = step.group(1).replace("\\\n", "\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=30)
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for name in listed:
        assert (tmp_path / name.replace(".", "/") / "__init__.py").is_file(), name
        assert (ROOT / name.replace(".", "/")).is_dir(), f"{name} is listed but not in the tree"
