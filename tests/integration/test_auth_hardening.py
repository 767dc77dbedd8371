"""Auth hardening over real HTTP against a real Redis: login attempts counted before the password check, the client
address behind proxies, sessions ended by a password change or a disabled account, API-key scopes and bounds."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis

from tests.conftest import ROOT, RedisServer, Stack

pytestmark = pytest.mark.integration


def own_db(redis_server: RedisServer, number: int) -> str:
    """A flushed Redis database of one test's own: counters of other tests (all from 127.0.0.1) stay out."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{number}"
    Redis.from_url(url).flushdb()
    return url


def cli(stack: Stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=stack.env, cwd=ROOT, input=stdin, capture_output=True, text=True
    )


def add_user(stack: Stack, name: str, password: str, role: str = "user") -> None:
    result = cli(stack, "users", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def post_login(stack: Stack, name: str, password: str, headers: dict[str, str] | None = None) -> requests.Response:
    body = {"username": name, "password": password}
    return requests.post(stack.url("/api/v1/auth/login"), json=body, headers=headers or {}, timeout=60)


def in_parallel(count: int, attempt: Callable[[], int]) -> list[int]:
    """Run ``attempt`` in ``count`` threads released together; their answers' status codes."""
    barrier = threading.Barrier(count)

    def released(_: int) -> int:
        barrier.wait()
        return attempt()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(released, range(count)))


# -- login attempts ------------------------------------------------------------------------------------------
def test_parallel_wrong_passwords_reach_the_checker_only_limit_times(
    make_stack: Callable[..., Stack], redis_server: RedisServer, tmp_path: Path
) -> None:
    """16 wrong passwords sent at once for one user with a limit of 3: exactly 3 are checked (401, one audit line
    each), the other 13 are refused before the check with 429 naming the limit."""
    log = tmp_path / "api.log"
    stack = make_stack(
        worker=False,
        log=log,
        SDQ_AUTH="jwt",
        SDQ_LOGIN_MAX_FAILURES="3",
        SDQ_LOGIN_WINDOW_SECONDS="60",
        SDQ_REDIS_URL=own_db(redis_server, 9),
    )
    add_user(stack, "erin", "erin-password-1")
    codes = in_parallel(16, lambda: post_login(stack, "erin", "guess").status_code)
    checks = log.read_text().count("failed login for 'erin'")
    assert (codes.count(401), codes.count(429), checks) == (3, 13, 3)
    locked = post_login(stack, "erin", "erin-password-1")
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"
    assert "at most 3 failed logins per 60 s" in locked.json()["detail"]
    assert 0 < int(locked.headers["retry-after"]) <= 60


def test_a_right_password_clears_the_user_count_and_gives_the_address_its_attempt_back(
    make_stack: Callable[..., Stack], redis_server: RedisServer
) -> None:
    """Successful logins never lock an address out; a success resets the user name's failures."""
    stack = make_stack(
        worker=False,
        SDQ_AUTH="jwt",
        SDQ_LOGIN_MAX_FAILURES="2",
        SDQ_LOGIN_MAX_FAILURES_PER_ADDRESS="3",
        SDQ_REDIS_URL=own_db(redis_server, 10),
    )
    add_user(stack, "fred", "fred-password-1")
    for _ in range(5):
        assert post_login(stack, "fred", "fred-password-1").status_code == 200
    assert post_login(stack, "fred", "wrong").status_code == 401
    assert post_login(stack, "fred", "fred-password-1").status_code == 200
    assert post_login(stack, "fred", "wrong").status_code == 401
    assert post_login(stack, "fred", "wrong").status_code == 401  # 2 for fred since the success, 3 for the address
    assert post_login(stack, "fred", "fred-password-1").status_code == 429


def test_one_user_locked_out_leaves_other_users_at_the_same_address_alone(
    make_stack: Callable[..., Stack], redis_server: RedisServer
) -> None:
    """The per-user limit is lower than the per-address one: guessing one name locks only that name, until the
    address's own limit is reached."""
    stack = make_stack(
        worker=False,
        SDQ_AUTH="jwt",
        SDQ_LOGIN_MAX_FAILURES="2",
        SDQ_LOGIN_MAX_FAILURES_PER_ADDRESS="4",
        SDQ_REDIS_URL=own_db(redis_server, 11),
    )
    add_user(stack, "gail", "gail-password-1")
    assert [post_login(stack, "mallory", "x").status_code for _ in range(3)] == [401, 401, 429]
    assert post_login(stack, "gail", "gail-password-1").status_code == 200
    assert [post_login(stack, name, "x").status_code for name in ("a", "b", "c")] == [401, 401, 429]
    refused = post_login(stack, "gail", "gail-password-1")
    assert refused.status_code == 429 and "for this address" in refused.json()["detail"]


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    make_stack: Callable[..., Stack], redis_server: RedisServer
) -> None:
    """From an untrusted peer (127.0.0.1 by default) a fresh X-Forwarded-For per attempt still counts as one
    address; with 127.0.0.1 listed in SDQ_TRUSTED_PROXIES each forwarded address has a counter of its own."""
    limits: dict[str, Any] = {"SDQ_AUTH": "jwt", "SDQ_LOGIN_MAX_FAILURES_PER_ADDRESS": "2", "worker": False}
    direct = make_stack(**limits, SDQ_REDIS_URL=own_db(redis_server, 12))
    codes = [post_login(direct, f"user{i}", "x", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]

    proxied = make_stack(**limits, SDQ_REDIS_URL=own_db(redis_server, 13), SDQ_TRUSTED_PROXIES='["127.0.0.1/32"]')
    spread = [
        post_login(proxied, f"user{i}", "x", {"X-Forwarded-For": f"6.6.6.6, 198.51.100.{i}"}).status_code
        for i in range(3)
    ]
    assert spread == [401, 401, 401]
    same = [post_login(proxied, f"other{i}", "x", {"X-Forwarded-For": "198.51.100.0"}).status_code for i in range(2)]
    assert same == [401, 429]  # 198.51.100.0 failed once above, then once here: its limit of 2
