"""Auth hardening over real HTTP against a real Redis: login attempts counted before the password check, the client
address behind proxies, sessions ended by a password change or a disabled account, API-key scopes and bounds."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis

from tests.conftest import RedisServer, Stack, add_user, launch_stack, run_cli

pytestmark = pytest.mark.integration


def own_db(redis_server: RedisServer, number: int) -> str:
    """A flushed Redis database of one test's own: counters of other tests (all from 127.0.0.1) stay out."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{number}"
    Redis.from_url(url).flushdb()
    return url


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


# -- sessions ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secured(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("hardening-data"),
        worker=False,
        SDQ_AUTH="jwt,api-key",
        SDQ_QUEUE_NAME="hardening-queue",
        SDQ_REDIS_URL=own_db(redis_server, 14),
    )
    add_user(stack, "boss", "boss-password-1", "admin")
    for name in ("hank", "iris", "jack", "kate"):
        add_user(stack, name, f"{name}-password-1")
    yield stack
    stack.stop()


def tokens_of(stack: Stack, name: str, password: str | None = None) -> dict[str, str]:
    response = post_login(stack, name, password or f"{name}-password-1")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def me(stack: Stack, credential: str) -> requests.Response:
    return requests.get(stack.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {credential}"}, timeout=10)


def refresh(stack: Stack, refresh_token: str) -> requests.Response:
    return requests.post(stack.url("/api/v1/auth/refresh"), json={"refresh_token": refresh_token}, timeout=10)


def test_a_password_change_ends_every_session_of_the_user(secured: Stack) -> None:
    """`sdqueue users passwd` refuses the user's access and refresh tokens from before, in every session; others'
    sessions and a login with the new password work."""
    first, second, other = tokens_of(secured, "hank"), tokens_of(secured, "hank"), tokens_of(secured, "iris")
    assert me(secured, first["access_token"]).status_code == 200
    changed = run_cli(secured, "users", "passwd", "hank", "--password-stdin", stdin="hank-password-2\n")
    assert changed.returncode == 0, changed.stderr
    ended = me(secured, first["access_token"])
    assert ended.status_code == 401 and "session ended" in ended.json()["detail"]
    assert me(secured, second["access_token"]).status_code == 401
    assert refresh(secured, first["refresh_token"]).status_code == 401
    assert refresh(secured, second["refresh_token"]).status_code == 401
    assert me(secured, other["access_token"]).status_code == 200
    assert post_login(secured, "hank", "hank-password-1").status_code == 401
    fresh = tokens_of(secured, "hank", "hank-password-2")
    assert me(secured, fresh["access_token"]).json()["user"] == "hank"
    assert refresh(secured, fresh["refresh_token"]).status_code == 200


@pytest.mark.parametrize("how", ["cli", "api"])
def test_disabling_a_user_ends_their_sessions_for_good(secured: Stack, how: str) -> None:
    """Disabled (by `sdqueue users disable` or the admin route) and enabled again, the user's old access and refresh
    tokens stay refused; a new login works."""
    name = "jack" if how == "cli" else "kate"
    old = tokens_of(secured, name)
    admin = tokens_of(secured, "boss")["access_token"]
    for action in ("disable", "enable"):
        if how == "cli":
            assert run_cli(secured, "users", action, name).returncode == 0
        else:
            path = f"/api/v1/auth/users/{name}/{action}"
            answer = requests.post(secured.url(path), headers={"Authorization": f"Bearer {admin}"}, timeout=10)
            assert answer.status_code == 200
    assert me(secured, old["access_token"]).status_code == 401
    assert refresh(secured, old["refresh_token"]).status_code == 401
    assert me(secured, tokens_of(secured, name)["access_token"]).status_code == 200


def test_a_system_account_gone_at_refresh_time_ends_its_sessions(
    make_stack: Callable[..., Stack], redis_server: RedisServer
) -> None:
    """In pam mode a refresh for an account NSS no longer knows is refused, and its access tokens stop too."""
    from auth.principal import Role
    from auth.service import AuthService
    from schemas.settings import Settings

    redis_url = own_db(redis_server, 15)
    stack = make_stack(worker=False, SDQ_AUTH="pam", SDQ_REDIS_URL=redis_url)
    # Tokens as a login of that account would have issued them (it no longer exists, so it cannot log in).
    service = AuthService(Settings(redis_url=redis_url, data_dir=stack.data_dir, auth="pam"), Redis.from_url(redis_url))
    tokens = service.tokens.issue("sdq-gone-user", [Role.USER], epoch=0)
    assert me(stack, tokens["access_token"]).json()["user"] == "sdq-gone-user"
    refused = refresh(stack, tokens["refresh_token"])
    assert refused.status_code == 401 and refused.json()["detail"] == "the system account no longer exists"
    assert me(stack, tokens["access_token"]).status_code == 401


@pytest.mark.skipif(sys.platform != "linux", reason="PAM is Linux-only here")
def test_a_locked_system_account_cannot_refresh_and_its_tokens_stop(
    make_stack: Callable[..., Stack], redis_server: RedisServer
) -> None:
    """`usermod -L` on a PAM user: the next refresh is refused and ends the access tokens too."""
    import os

    if os.geteuid() != 0:
        pytest.skip("creating and locking a system user needs root")
    user, password = "sdqlocktest", "Lock-test-pw-42"
    subprocess.run(["useradd", "--no-create-home", user], check=True, capture_output=True)
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)
        stack = make_stack(worker=False, SDQ_AUTH="pam", SDQ_REDIS_URL=own_db(redis_server, 15))
        tokens = tokens_of(stack, user, password)
        renewed = refresh(stack, tokens["refresh_token"])
        assert renewed.status_code == 200
        subprocess.run(["usermod", "-L", user], check=True, capture_output=True)
        refused = refresh(stack, renewed.json()["refresh_token"])
        assert refused.status_code == 401 and refused.json()["detail"] == "the system account is locked"
        assert me(stack, renewed.json()["access_token"]).status_code == 401
    finally:
        subprocess.run(["userdel", user], check=False, capture_output=True)


# -- API keys ------------------------------------------------------------------------------------------------
def create_key(stack: Stack, credential: str, **body: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {credential}"}
    return requests.post(stack.url("/api/v1/auth/keys"), json={"name": "k", **body}, headers=headers, timeout=10)


def test_key_routes_need_the_keys_scopes(secured: Stack) -> None:
    """A key without keys:read / keys:write can neither list, create nor revoke keys: 403 naming the scope."""
    token = tokens_of(secured, "iris")["access_token"]
    made = create_key(secured, token, scopes=["jobs:read"])
    assert made.status_code == 201
    key, key_id = made.json()["key"], made.json()["id"]
    headers = {"Authorization": f"Bearer {key}"}
    listing = requests.get(secured.url("/api/v1/auth/keys"), headers=headers, timeout=10)
    assert listing.status_code == 403 and "'keys:read'" in listing.json()["detail"]
    creating = create_key(secured, key, scopes=["jobs:read"])
    assert creating.status_code == 403 and "'keys:write'" in creating.json()["detail"]
    revoking = requests.delete(secured.url(f"/api/v1/auth/keys/{key_id}"), headers=headers, timeout=10)
    assert revoking.status_code == 403 and revoking.json()["code"] == "insufficient_scope"
    assert me(secured, key).status_code == 200  # still there


def test_a_key_minted_with_a_key_cannot_outlive_or_out_scope_it(secured: Stack) -> None:
    """Scopes beyond the parent key's and an expiry after it are 422 naming the field; without an expiry the child
    expires with its parent."""
    token = tokens_of(secured, "iris")["access_token"]
    parent = create_key(secured, token, scopes=["jobs:read", "keys:write"], expires_in_days=2).json()
    wider = create_key(secured, parent["key"], scopes=["generate"])
    assert wider.status_code == 422 and wider.json()["errors"][0]["loc"] == ["body", "scopes"]
    longer = create_key(secured, parent["key"], scopes=["jobs:read"], expires_in_days=3)
    assert longer.status_code == 422 and longer.json()["errors"][0]["loc"] == ["body", "expires_in_days"]
    inherited = create_key(secured, parent["key"], scopes=["jobs:read"])
    assert inherited.status_code == 201 and inherited.json()["expires_at"] == parent["expires_at"]
    default = create_key(secured, parent["key"], expires_in_days=1)
    assert default.status_code == 201 and default.json()["scopes"] == ["jobs:read", "keys:write"]
    assert default.json()["expires_at"] < parent["expires_at"]


# -- auth off: the Host guard; files on disk -------------------------------------------------------------------
@pytest.fixture(scope="module")
def open_api(redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An API with SDQ_AUTH=none and no worker (submitted jobs stay queued)."""
    stack = launch_stack(
        redis_server.url, models_dir, tmp_path_factory.mktemp("open-data"), worker=False, SDQ_QUEUE_NAME="open-queue"
    )
    yield stack
    stack.stop()


def test_without_auth_a_rebound_host_is_refused_and_loopback_answered(open_api: Stack) -> None:
    """Through uvicorn, with SDQ_AUTH=none: Host 127.0.0.1:<port> and localhost work, a foreign name gets 421."""
    port = open_api.base_url.rsplit(":", 1)[1]
    assert requests.get(open_api.url("/api/v1/queue"), timeout=10).status_code == 200
    local = requests.get(open_api.url("/api/v1/queue"), headers={"Host": f"localhost:{port}"}, timeout=10)
    assert local.status_code == 200
    rebound = requests.get(open_api.url("/api/v1/queue"), headers={"Host": f"evil.example:{port}"}, timeout=10)
    assert rebound.status_code == 421 and rebound.json()["code"] == "unknown_host"


def test_uploads_and_job_inputs_are_written_0600(open_api: Stack) -> None:
    """An uploaded image and the input the API prepares for a job are private to the service's user, like outputs."""
    import io
    import stat

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(buffer, "PNG")
    files = {"file": ("a.png", buffer.getvalue(), "image/png")}
    upload = requests.post(open_api.url("/api/v1/uploads"), files=files, timeout=10)
    assert upload.status_code in (200, 201), upload.text
    upload_id = upload.json()["id"]
    stored = open_api.data_dir / "uploads" / f"{upload_id}.png"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    body = {"prompt": "x", "init_image": upload_id, "width": 64, "height": 64, "steps": 2}
    job = requests.post(open_api.url("/api/v1/generate/img2img"), json=body, timeout=10)
    assert job.status_code == 202, job.text
    prepared = open_api.data_dir / "inputs" / job.json()["id"] / "init_image.png"
    assert stat.S_IMODE(prepared.stat().st_mode) == 0o600
