"""The gallery's budget: with 1,000 finished jobs the UI still loads within the first-view budget and pages smoothly
(a page of tiles at a time; each "Load more" answers within the same budget). The 1,000 jobs are real submits that
the result cache answers (one generation, then 999 hits), so they cost seconds, not a thousand generations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RedisServer, Stack, launch_stack

pytestmark = [pytest.mark.browser, pytest.mark.integration]

JOBS = 1000
BUDGET_SECONDS = 1.0
BODY = {"prompt": "a thousand lanterns", "width": 64, "height": 64, "steps": 1, "seed": 11}


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own stack (the UI fixtures use it): the result cache on, 1,000 finished jobs."""
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("gallery-budget"),
        SDQ_QUEUE_NAME="gallery-budget",
        SDQ_CACHE_ENABLED="true",
    )
    try:
        first = stack.run(**BODY)
        assert first["status"] == "finished", first["error"]
        session = requests.Session()

        def hit(_: int) -> int:
            return session.post(stack.url("/api/v1/generate/txt2img"), json=BODY, timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(hit, range(JOBS - 1)))
        assert codes == [200] * (JOBS - 1)  # every one a cache hit, finished at once
        yield stack
    finally:
        stack.stop()


def test_a_thousand_finished_jobs_load_and_page_within_budget(open_ui: Any, stack: Stack) -> None:
    page = open_ui()  # waits until the jobs panel and the gallery's first page are in
    loaded_ms = page.evaluate("performance.now()")  # since navigation started, a little after the gallery was in
    assert loaded_ms < BUDGET_SECONDS * 1000
    tiles = page.locator("#gallery-grid li")
    first_page = tiles.count()
    assert 0 < first_page < 100, "the first view shows one page, not a thousand tiles"
    more = page.get_by_role("button", name="Load more")
    for _ in range(5):
        before = tiles.count()
        clicked = time.perf_counter()
        more.click()
        tiles.nth(before).wait_for(timeout=5_000)  # (wait_for_function evaluates a string: the CSP refuses it)
        assert time.perf_counter() - clicked < BUDGET_SECONDS
    assert tiles.count() == first_page * 6
    assert page.locator("#job-list li.job").count() < 100, "the live jobs panel does not list every finished job"
