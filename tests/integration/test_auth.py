"""Authentication and isolation over real HTTP against a real Redis: each attack fails with the right status
and no side effect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jose import jwt

from tests.conftest import ROOT, Stack, add_user, launch_stack, run_cli

pytestmark = pytest.mark.integration

PASSWORDS = {"root-admin": "admin-password-1", "alice": "alice-password-1", "bob": "bob-password-1"}


@pytest.fixture(scope="module")
def secured(redis_server, models_dir, tmp_path_factory) -> Iterator[Stack]:
    stack = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("auth-data"),
        SDQ_AUTH="jwt,api-key",
        SDQ_QUEUE_NAME="auth-queue",
        SDQ_MAX_BODY_BYTES="65536",
    )
    try:
        add_user(stack, "root-admin", PASSWORDS["root-admin"], "admin")
        add_user(stack, "alice", PASSWORDS["alice"])
        add_user(stack, "bob", PASSWORDS["bob"])
        yield stack
    finally:  # a failed set-up must not leave the stack's processes running for the rest of the session
        stack.stop()


def login(stack: Stack, name: str, password: str | None = None) -> dict[str, Any]:
    response = requests.post(
        stack.url("/api/v1/auth/login"), json={"username": name, "password": password or PASSWORDS[name]}, timeout=10
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(stack: Stack, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {}) | (bearer(token) if token else {})
    return requests.request(method, stack.url(path), headers=headers, timeout=10, **kwargs)


def submit(stack: Stack, token: str, **body: Any) -> str:
    payload = {"prompt": "a red door", "width": 64, "height": 64, "steps": 2, **body}
    response = call(stack, "POST", "/api/v1/generate/txt2img", token, json=payload)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def wait(stack: Stack, job_id: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view: dict[str, Any] = call(stack, "GET", f"/api/v1/jobs/{job_id}", token).json()
        if view["status"] in ("finished", "failed", "canceled"):
            return view
        time.sleep(0.05)
    raise TimeoutError(job_id)


def kept_secret(stack: Stack) -> str:
    return (stack.data_dir / "auth" / "secret.key").read_text().strip()


def jwt_key(stack: Stack) -> bytes:
    """The HS256 key the API derives from its kept secret."""
    from auth.keys import JWT_LABEL, derive_key

    return derive_key(kept_secret(stack).encode(), JWT_LABEL)


def url_key(stack: Stack) -> bytes:
    """The signed-URL key the API derives from its kept secret."""
    from auth.keys import URL_LABEL, derive_key

    return derive_key(kept_secret(stack).encode(), URL_LABEL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if key else ""
    return f"{signing_input}.{signature}"


def claims_for(user: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "sdqueue",
        "aud": "sdqueue-api",
        "sub": user,
        "roles": ["admin"],
        "typ": "access",
        "epo": 0,
        "iat": now,
        "exp": now + 600,
        "jti": "x" * 32,
        **overrides,
    }


# -- modes and public routes ---------------------------------------------------------------------------------
def test_public_routes_open_everything_else_needs_credentials(secured: Stack) -> None:
    for path in ("/api/health", "/api/version", "/api/ready"):
        assert requests.get(secured.url(path), timeout=10).status_code == 200, path
    for method, path in [
        ("POST", "/api/v1/generate/txt2img"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/queue"),
        ("GET", "/api/v1/parameters"),
        ("GET", f"/api/v1/jobs/{'a' * 32}"),
    ]:
        response = call(secured, method, path, json={"prompt": "x"})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    assert secured.get("/api/v1/queue")["code"] == "unauthorized"


def test_login_json_and_form_me_and_validate(secured: Stack) -> None:
    tokens = login(secured, "alice")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    form = requests.post(
        secured.url("/api/v1/auth/login"), data={"username": "alice", "password": PASSWORDS["alice"]}, timeout=10
    )
    assert form.status_code == 200 and form.json()["access_token"]
    me = call(secured, "GET", "/api/v1/auth/me", tokens["access_token"]).json()
    assert me["user"] == "alice" and me["roles"] == ["user"] and me["method"] == "jwt"
    assert "generate" in me["scopes"] and "queue:admin" not in me["scopes"]
    assert call(secured, "GET", "/api/v1/auth/validate", tokens["access_token"]).status_code == 200
    assert call(secured, "GET", "/api/v1/auth/validate").status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(secured: Stack) -> None:
    wrong = requests.post(secured.url("/api/v1/auth/login"), json={"username": "bob", "password": "nope"}, timeout=10)
    ghost = requests.post(secured.url("/api/v1/auth/login"), json={"username": "ghost", "password": "x"}, timeout=10)
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json()["detail"] == ghost.json()["detail"]
    missing = requests.post(secured.url("/api/v1/auth/login"), json={"username": "bob"}, timeout=10)
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "password"]


# -- token attacks -----------------------------------------------------------------------------------------
def test_forged_tokens_are_refused(secured: Stack) -> None:
    key = jwt_key(secured)
    real = login(secured, "bob")["access_token"]
    header, payload, signature = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    attacks = {
        "alg none": forge({"alg": "none", "typ": "JWT"}, claims_for("root-admin"), None),
        "tampered payload": f"{header}.{b64(json.dumps({**claims, 'sub': 'root-admin'}).encode())}.{signature}",
        "expired": jwt.encode(claims_for("bob", exp=int(time.time()) - 5), key, algorithm="HS256"),
        "other secret": jwt.encode(claims_for("root-admin"), "x" * 40, algorithm="HS256"),
        "the kept secret itself": jwt.encode(
            claims_for("bob", roles=["user"]), kept_secret(secured), algorithm="HS256"
        ),
        "the signed-URL key": jwt.encode(claims_for("bob", roles=["user"]), url_key(secured), algorithm="HS256"),
        "other audience": jwt.encode(claims_for("bob", aud="other-api"), key, algorithm="HS256"),
        "other issuer": jwt.encode(claims_for("bob", iss="someone-else"), key, algorithm="HS256"),
        "no audience": jwt.encode({k: v for k, v in claims_for("bob").items() if k != "aud"}, key, algorithm="HS256"),
        "no session epoch": jwt.encode(
            {k: v for k, v in claims_for("bob").items() if k != "epo"}, key, algorithm="HS256"
        ),
        "an older session epoch": jwt.encode(claims_for("bob", epo=-1), key, algorithm="HS256"),
        "refresh as access": login(secured, "bob")["refresh_token"],
        "garbage": "not.a.token",
    }
    for name, token in attacks.items():
        response = call(secured, "GET", "/api/v1/auth/me", token)
        assert response.status_code == 401, name
    genuine = jwt.encode(claims_for("bob", roles=["user"]), key, algorithm="HS256")
    assert call(secured, "GET", "/api/v1/auth/me", genuine).json()["user"] == "bob"


def test_logout_revokes_access_and_refresh_tokens(secured: Stack) -> None:
    tokens = login(secured, "bob")
    response = call(
        secured, "POST", "/api/v1/auth/logout", tokens["access_token"], json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert call(secured, "GET", "/api/v1/auth/me", tokens["access_token"]).status_code == 401
    again = requests.post(
        secured.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]}, timeout=10
    )
    assert again.status_code == 401


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(secured: Stack) -> None:
    tokens = login(secured, "alice")
    first = requests.post(
        secured.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]}, timeout=10
    )
    assert first.status_code == 200
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert call(secured, "GET", "/api/v1/auth/me", first.json()["access_token"]).json()["user"] == "alice"
    reused = requests.post(
        secured.url("/api/v1/auth/refresh"), json={"refresh_token": tokens["refresh_token"]}, timeout=10
    )
    assert reused.status_code == 401


# -- API keys ------------------------------------------------------------------------------------------------
def test_api_keys_shown_once_accepted_both_ways_revocable(secured: Stack) -> None:
    token = login(secured, "alice")["access_token"]
    created = call(secured, "POST", "/api/v1/auth/keys", token, json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("sdq_")
    listed = call(secured, "GET", "/api/v1/auth/keys", token).json()
    assert created.json()["id"] in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)
    assert call(secured, "GET", "/api/v1/auth/me", key).json()["method"] == "api-key"
    by_header = requests.get(secured.url("/api/v1/auth/me"), headers={"X-API-Key": key}, timeout=10).json()
    assert by_header["user"] == "alice"
    bob = login(secured, "bob")["access_token"]
    assert call(secured, "DELETE", f"/api/v1/auth/keys/{created.json()['id']}", bob).status_code == 404
    assert call(secured, "DELETE", f"/api/v1/auth/keys/{created.json()['id']}", token).status_code == 204
    assert call(secured, "GET", "/api/v1/auth/me", key).status_code == 401


def test_api_key_scope_and_expiry_are_enforced(secured: Stack) -> None:
    from redis import Redis

    from auth.apikeys import ApiKeyStore
    from auth.principal import Scope

    token = login(secured, "alice")["access_token"]
    read_only = call(secured, "POST", "/api/v1/auth/keys", token, json={"name": "ro", "scopes": ["jobs:read"]})
    key = read_only.json()["key"]
    refused = call(secured, "POST", "/api/v1/generate/txt2img", key, json={"prompt": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert call(secured, "GET", "/api/v1/jobs", key).status_code == 200
    too_much = call(secured, "POST", "/api/v1/auth/keys", token, json={"name": "x", "scopes": ["queue:admin"]})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["loc"] == ["body", "scopes"]

    store = ApiKeyStore(Redis.from_url(secured.env["SDQ_REDIS_URL"]))
    _, expired = store.create("alice", "old", [Scope.JOBS_READ], expires_at=time.time() - 1)
    assert call(secured, "GET", "/api/v1/auth/me", expired).status_code == 401
    assert call(secured, "GET", "/api/v1/auth/me", "sdq_" + "A" * 43).status_code == 401


# -- isolation -----------------------------------------------------------------------------------------------
def test_users_never_see_each_others_jobs(secured: Stack) -> None:
    alice = login(secured, "alice")["access_token"]
    bob = login(secured, "bob")["access_token"]
    admin = login(secured, "root-admin")["access_token"]
    job = submit(secured, alice, seed=1)
    view = wait(secured, job, alice)
    assert view["status"] == "finished" and view["owner"] == "alice"
    image = view["images"][0]
    for method, path in [
        ("GET", f"/api/v1/jobs/{job}"),
        ("GET", f"/api/v1/jobs/{job}/events"),
        ("GET", f"/api/v1/jobs/{job}/images/0"),
        ("GET", f"/api/v1/jobs/{job}/images/0/thumbnail"),
        ("POST", f"/api/v1/jobs/{job}/cancel"),
        ("DELETE", f"/api/v1/jobs/{job}"),
    ]:
        response = call(secured, method, path, bob)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"
    assert job not in [j["id"] for j in call(secured, "GET", "/api/v1/jobs", bob).json()["items"]]
    assert call(secured, "GET", f"/api/v1/jobs/{job}", alice).json()["status"] == "finished"  # untouched
    assert call(secured, "GET", f"/api/v1/jobs/{job}", admin).json()["owner"] == "alice"
    assert job in [j["id"] for j in call(secured, "GET", "/api/v1/jobs", admin).json()["items"]]
    # The signed URL works in an <img> (no header) and only for that exact path, until it expires.
    assert "sig=" in image["url"] and "exp=" in image["url"]
    assert requests.get(secured.url(image["url"]), timeout=10).status_code == 200
    assert requests.get(secured.url(image["thumbnail_url"]), timeout=10).headers["content-type"] == "image/webp"
    path, query = image["url"].split("?")
    assert requests.get(secured.url(path), timeout=10).status_code == 401
    assert requests.get(secured.url(f"{path}?{query[:-4]}beef"), timeout=10).status_code == 401
    other = submit(secured, bob, seed=2)
    wait(secured, other, bob)
    stolen = f"/api/v1/jobs/{other}/images/0?{query}"
    assert requests.get(secured.url(stolen), timeout=10).status_code == 401
    expires = int(time.time()) - 1
    mac = hmac.new(url_key(secured), f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
    assert requests.get(secured.url(f"{path}?exp={expires}&sig={mac}"), timeout=10).status_code == 401
    # URLs are signed with a key derived for them, not with the kept secret (nor the JWT key) itself.
    later = int(time.time()) + 600
    for key, code in ((url_key(secured), 200), (kept_secret(secured).encode(), 401), (jwt_key(secured), 401)):
        mac = hmac.new(key, f"{path}\n{later}".encode(), hashlib.sha256).hexdigest()
        assert requests.get(secured.url(f"{path}?exp={later}&sig={mac}"), timeout=10).status_code == code


def test_queue_shows_users_only_their_own_jobs(secured: Stack) -> None:
    alice = login(secured, "alice")["access_token"]
    queue = call(secured, "GET", "/api/v1/queue", alice).json()
    assert all(j["owner"] == "alice" for j in queue["jobs"])


def test_path_traversal_in_path_parameters_reaches_nothing(secured: Stack) -> None:
    alice = login(secured, "alice")["access_token"]
    for path in [
        "/api/v1/jobs/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/jobs/%2e%2e%2f%2e%2e",
        "/api/v1/jobs/%2fetc%2fpasswd/images/0",
        "/api/v1/jobs/..%252f..%252fetc/images/0/thumbnail",
        "/api/v1/jobs/" + "a" * 32 + "/images/..%2f..%2fjob.json",
        "/api/v1/auth/keys/..%2f..%2fx",
        "/api/v1/jobs/%2e%2e/events",
    ]:
        response = call(secured, "GET" if "keys" not in path else "DELETE", path, alice)
        assert response.status_code in (404, 422), (path, response.status_code)
        assert "root:" not in response.text


# -- authorisation -------------------------------------------------------------------------------------------
def test_roles_gate_priority_clear_and_user_admin(secured: Stack) -> None:
    alice = login(secured, "alice")["access_token"]
    admin = login(secured, "root-admin")["access_token"]
    high = call(secured, "POST", "/api/v1/generate/txt2img", alice, json={"prompt": "x", "priority": "high"})
    assert high.status_code == 403
    assert [e["loc"] for e in high.json()["errors"]] == [["body", "priority"]]  # shown next to the web UI's picker
    assert call(secured, "POST", "/api/v1/queue/clear", alice).status_code == 403
    assert call(secured, "GET", "/api/v1/auth/users", alice).status_code == 403
    job = submit(secured, admin, priority="high", width=64)
    wait(secured, job, admin)
    assert call(secured, "POST", "/api/v1/queue/clear", admin).status_code == 200
    users = [u["name"] for u in call(secured, "GET", "/api/v1/auth/users", admin).json()]
    assert {"alice", "bob", "root-admin"} <= set(users)


def test_admin_creates_and_disables_a_user_whose_tokens_stop_at_once(secured: Stack) -> None:
    admin = login(secured, "root-admin")["access_token"]
    created = call(
        secured,
        "POST",
        "/api/v1/auth/users",
        admin,
        json={"name": "dave", "password": "dave-password-1", "roles": ["user"]},
    )
    assert created.status_code == 201
    dave = login(secured, "dave", "dave-password-1")
    key = call(secured, "POST", "/api/v1/auth/keys", dave["access_token"], json={"name": "k"}).json()["key"]
    assert call(secured, "POST", "/api/v1/auth/users/dave/disable", admin).json()["disabled"] is True
    assert call(secured, "GET", "/api/v1/auth/me", dave["access_token"]).status_code == 401
    assert call(secured, "GET", "/api/v1/auth/me", key).status_code == 401
    refresh = requests.post(
        secured.url("/api/v1/auth/refresh"), json={"refresh_token": dave["refresh_token"]}, timeout=10
    )
    assert refresh.status_code == 401
    refused = requests.post(
        secured.url("/api/v1/auth/login"), json={"username": "dave", "password": "dave-password-1"}, timeout=10
    )
    assert refused.status_code == 401
    roles = call(secured, "PUT", "/api/v1/auth/users/dave/roles", admin, json={"roles": ["admin"]}).json()
    assert roles["roles"] == ["admin"]


def test_oversized_body_is_413(secured: Stack) -> None:
    alice = login(secured, "alice")["access_token"]
    response = call(
        secured,
        "POST",
        "/api/v1/generate/txt2img",
        alice,
        data=json.dumps({"prompt": "x" * 70_000}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# -- limits, secrets, other modes ----------------------------------------------------------------------------
def test_login_brute_force_is_locked_out_with_retry_after(make_stack, redis_server) -> None:
    # Its own Redis database: the per-address counter must not see other tests' failed logins from 127.0.0.1.
    stack = make_stack(
        worker=False,
        SDQ_AUTH="jwt",
        SDQ_LOGIN_MAX_FAILURES="3",
        SDQ_LOGIN_WINDOW_SECONDS="60",
        SDQ_REDIS_URL=redis_server.url.rsplit("/", 1)[0] + "/7",
    )
    result = run_cli(stack, "users", "add", "erin", "--password-stdin", stdin="erin-password-1\n")
    assert result.returncode == 0, result.stderr
    for _ in range(3):
        bad = requests.post(stack.url("/api/v1/auth/login"), json={"username": "erin", "password": "guess"}, timeout=10)
        assert bad.status_code == 401
    locked = requests.post(
        stack.url("/api/v1/auth/login"), json={"username": "erin", "password": "erin-password-1"}, timeout=10
    )
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 60
    other_user = requests.post(stack.url("/api/v1/auth/login"), json={"username": "x", "password": "y"}, timeout=10)
    assert other_user.status_code == 401  # the address has its own, higher limit


def test_submissions_per_minute_are_limited(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_AUTH="api-key", SDQ_SUBMIT_PER_MINUTE="2")
    created = run_cli(stack, "keys", "create", "--owner", "frank", "--name", "t")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    codes = [
        call(
            stack, "POST", "/api/v1/generate/txt2img", key, json={"prompt": "x", "width": 64, "height": 64}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [202, 202, 429]


def test_weak_secret_refused_and_generated_secret_is_private(redis_server, models_dir, tmp_path: Path) -> None:
    from tests.conftest import service_env

    env = service_env(redis_server.url, tmp_path, models_dir, SDQ_AUTH="jwt", SDQ_JWT_SECRET="changeme")
    refused = subprocess.run(
        [sys.executable, "-m", "cli", "api"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "refusing to start" in refused.stderr

    stack = launch_stack(redis_server.url, models_dir, tmp_path / "d", worker=False, SDQ_AUTH="jwt")
    try:
        secret_file = stack.data_dir / "auth" / "secret.key"
        assert secret_file.stat().st_mode & 0o777 == 0o600
        assert len(secret_file.read_text()) >= 48
    finally:
        stack.stop()


def test_rs256_refuses_hs256_tokens_signed_with_the_public_key(make_stack, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "private.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "public.pem").write_bytes(public_pem)
    stack = make_stack(
        worker=False,
        SDQ_AUTH="jwt",
        SDQ_JWT_ALGORITHM="RS256",
        SDQ_JWT_PRIVATE_KEY_FILE=str(tmp_path / "private.pem"),
        SDQ_JWT_PUBLIC_KEY_FILE=str(tmp_path / "public.pem"),
    )
    assert run_cli(stack, "users", "add", "gina", "--password-stdin", stdin="gina-password-1\n").returncode == 0
    token = requests.post(
        stack.url("/api/v1/auth/login"), json={"username": "gina", "password": "gina-password-1"}, timeout=10
    ).json()["access_token"]
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "RS256"
    assert call(stack, "GET", "/api/v1/auth/me", token).json()["user"] == "gina"
    confused = forge({"alg": "HS256", "typ": "JWT"}, claims_for("gina"), public_pem)
    assert call(stack, "GET", "/api/v1/auth/me", confused).status_code == 401


def test_optional_mode_lets_guests_in_with_guest_scopes(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_AUTH="optional,jwt")
    me = stack.get("/api/v1/auth/me")
    assert me["user"] == "guest" and me["method"] == "guest"
    assert "queue:admin" not in me["scopes"]
    assert stack.submit(seed=1).status_code == 202
    assert requests.post(stack.url("/api/v1/queue/clear"), timeout=10).status_code == 403


@pytest.mark.skipif(sys.platform != "linux", reason="PAM is Linux-only here")
def test_pam_login_with_a_throwaway_system_user(make_stack, redis_server) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("creating a system user and reading /etc/shadow through PAM needs root")
    user, password, group = "sdqpamtest", "Pam-test-pw-42", "sdqpamgroup"
    subprocess.run(["useradd", "--no-create-home", user], check=True, capture_output=True)
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, capture_output=True)
        # Its own Redis database: failed logins of other tests from 127.0.0.1 must not lock this address.
        own_db = redis_server.url.rsplit("/", 1)[0] + "/8"
        stack = make_stack(worker=False, SDQ_AUTH="pam", SDQ_REDIS_URL=own_db)
        good = requests.post(stack.url("/api/v1/auth/login"), json={"username": user, "password": password}, timeout=30)
        assert good.status_code == 200, good.text
        assert call(stack, "GET", "/api/v1/auth/me", good.json()["access_token"]).json()["user"] == user
        bad = requests.post(stack.url("/api/v1/auth/login"), json={"username": user, "password": "wrong"}, timeout=30)
        assert bad.status_code == 401

        # unix mode limited to a group: refused until the user joins it.
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        gated = make_stack(worker=False, SDQ_AUTH="unix", SDQ_UNIX_GROUP=group, SDQ_REDIS_URL=own_db)
        body = {"username": user, "password": password}
        assert requests.post(gated.url("/api/v1/auth/login"), json=body, timeout=30).status_code == 401
        subprocess.run(["usermod", "-aG", group, user], check=True, capture_output=True)
        assert requests.post(gated.url("/api/v1/auth/login"), json=body, timeout=30).status_code == 200
    finally:
        subprocess.run(["userdel", user], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)


def test_queued_jobs_per_principal_are_capped(make_stack) -> None:
    stack = make_stack(worker=False, SDQ_AUTH="api-key", SDQ_MAX_QUEUED_PER_USER="2")
    key = run_cli(stack, "keys", "create", "--owner", "hana", "--name", "t").stdout.strip()
    other = run_cli(stack, "keys", "create", "--owner", "ivan", "--name", "t").stdout.strip()
    body = {"prompt": "x", "width": 64, "height": 64}
    codes = [call(stack, "POST", "/api/v1/generate/txt2img", key, json=body).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert call(stack, "POST", "/api/v1/generate/txt2img", other, json=body).status_code == 202


def test_cors_is_closed_by_default_and_opens_for_listed_origins(make_stack) -> None:
    closed = make_stack(worker=False, SDQ_AUTH="api-key")
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    answer = requests.options(closed.url("/api/v1/generate/txt2img"), headers=preflight, timeout=10)
    assert "access-control-allow-origin" not in answer.headers
    opened = make_stack(worker=False, SDQ_AUTH="api-key", SDQ_CORS_ORIGINS='["https://ui.example"]')
    allowed = requests.options(
        opened.url("/api/v1/generate/txt2img"), headers={**preflight, "Origin": "https://ui.example"}, timeout=10
    )
    assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
    refused = requests.options(opened.url("/api/v1/generate/txt2img"), headers=preflight, timeout=10)
    assert "access-control-allow-origin" not in refused.headers
