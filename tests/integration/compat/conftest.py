"""One open and one secured stack (API + worker on their own queues) for all the drop-in API tests of this folder:
started once, shared by its modules (the facades are thin; starting a stack per module would cost CI time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RedisServer, Stack, launch_stack
from tests.integration.compat.a1111_stacks import PASSWORDS, cli


@pytest.fixture(scope="package")
def open_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Auth off; previews every step (progress answers current_image); OpenAI calls run 2 steps."""
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("a1111"),
        SDQ_QUEUE_NAME="a1111",
        SDQ_PREVIEW_EVERY="1",
        SDQ_OPENAI_STEPS="2",
    )
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def secured(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("a1111-auth"),
        SDQ_QUEUE_NAME="a1111-auth",
        SDQ_AUTH="jwt,api-key",
    )
    try:
        for name, password in PASSWORDS.items():
            cli(stack, "users", "add", name, "--role", "user", "--password-stdin", stdin=password + "\n")
        yield stack
    finally:
        stack.stop()
