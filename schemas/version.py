"""The installed sdqueue version (from package metadata; the source tree's when not installed)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("sdqueue")
except PackageNotFoundError:  # running from a source tree without an install
    VERSION = "0.1.0"
