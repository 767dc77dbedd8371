"""Browser fixtures: Debian's chromium driven by Playwright (never `playwright install`), against the real stack
(API + worker + redis-server, tests/conftest.py), and a guard that fails a test on any console error, page error or
request to another origin."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it lives, and any
    later test that calls asyncio.run would fail."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing (pip install playwright==1.63.0; never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageGuard:
    """What a page did that a test did not ask for: console errors, uncaught exceptions, other origins."""

    origin: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console(self, pattern: str) -> None:
        """A console error this test causes on purpose (Chromium logs every 4xx answer to fetch)."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: Any) -> None:
        if message.type in ("error", "warning") and not any(p.search(message.text) for p in self.allowed):
            self.problems.append(f"console {message.type}: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"page error: {error}")

    def on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.problems.append(f"request to another origin: {request.url}")

    def watch(self, page: Any) -> Any:
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("request", self.on_request)
        return page


@pytest.fixture
def guard(stack: Stack) -> Iterator[PageGuard]:
    """Fails the test at teardown if any watched page logged an error or reached another origin."""
    watcher = PageGuard(origin=stack.base_url)
    yield watcher
    assert watcher.problems == []


@pytest.fixture
def open_ui(browser: Any, stack: Stack, guard: PageGuard) -> Iterator[Any]:
    """open_ui(viewport=..., color_scheme=..., ready="all" | "form") → a guarded page at the UI, its form usable
    ("form") or its jobs and gallery loaded too ("all")."""
    contexts: list[Any] = []

    def open_page(
        path: str = "/", *, viewport: dict[str, int] | None = None, color_scheme: str = "light", ready: str = "all"
    ) -> Any:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860}, color_scheme=color_scheme)
        contexts.append(context)
        page = guard.watch(context.new_page())
        page.goto(stack.url(path))
        page.wait_for_selector("body[data-ready=all]" if ready == "all" else "body[data-ready]", timeout=10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


def screenshot(page: Any, name: str, scratch: Path) -> Path:
    """Assert nothing scrolls sideways at this width, then save ``name``.png: into docs/screenshots/ (as a
    256-colour PNG) with SDQ_UPDATE_SCREENSHOTS=1, else into ``scratch``."""
    width = page.viewport_size["width"]
    if page.evaluate("document.documentElement.scrollWidth") > width:
        wide = page.evaluate(
            """w => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w + 1 && e.getClientRects().length)
              .slice(0, 8)
              .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)""",
            width,
        )
        raise AssertionError(f"{name}: sideways scrolling, past the edge: {wide}")
    update = os.environ.get("SDQ_UPDATE_SCREENSHOTS") == "1"
    folder = SCREENSHOT_DIR if update else scratch
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    if update:
        from PIL import Image

        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    return path
