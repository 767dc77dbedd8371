"""The drop-in APIs go through the native submit: the result cache answers an A1111 request that was made before,
and the per-user submit rate counts A1111 and OpenAI calls together (429 in each facade's own shape)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RedisServer, Stack, add_user, create_api_key, launch_stack

pytestmark = pytest.mark.integration

PASSWORDS = {"cara": "cara-password-1", "dan": "dan-password-1"}
BODY = {"prompt": "a lantern", "width": 64, "height": 64, "steps": 2, "seed": 7}


@pytest.fixture(scope="module")
def policed(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Auth on, the result cache on, 4 submissions per user and minute."""
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("facade-policies"),
        SDQ_QUEUE_NAME="facade-policies",
        SDQ_AUTH="jwt,api-key",
        SDQ_CACHE_ENABLED="true",
        SDQ_SUBMIT_PER_MINUTE="4",
    )
    try:
        for name, password in PASSWORDS.items():
            add_user(stack, name, password)
        yield stack
    finally:
        stack.stop()


def txt2img(stack: Stack, user: str) -> requests.Response:
    return requests.post(stack.url("/sdapi/v1/txt2img"), json=BODY, auth=(user, PASSWORDS[user]), timeout=120)


def native_jobs(stack: Stack, user: str) -> list[dict[str, Any]]:
    login = requests.post(
        stack.url("/api/v1/auth/login"), json={"username": user, "password": PASSWORDS[user]}, timeout=10
    )
    token = login.json()["access_token"]
    page = requests.get(stack.url("/api/v1/jobs"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def test_a_repeated_a1111_request_is_a_result_cache_hit(policed: Stack) -> None:
    first = txt2img(policed, "cara")
    again = txt2img(policed, "cara")
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["images"] == again.json()["images"]
    newest, oldest = native_jobs(policed, "cara")
    assert (newest["cached"], oldest["cached"]) == (True, False)


def test_the_submit_rate_counts_both_facades_together(policed: Stack) -> None:
    for _ in range(4):  # the first is generated, the rest are cache hits; all count as submissions
        assert txt2img(policed, "dan").status_code == 200
    refused = txt2img(policed, "dan")
    assert refused.status_code == 429, refused.text
    key = create_api_key(policed, "dan")
    openai = requests.post(
        policed.url("/v1/images/generations"),
        json={"prompt": "a lantern", "size": "64x64", "response_format": "b64_json"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert openai.status_code == 429, openai.text
    assert openai.json()["error"]["type"] == "rate_limit_error"
