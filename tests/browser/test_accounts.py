"""The web UI with auth on (SDQ_AUTH=jwt,api-key), in Chromium against a real API, worker and redis-server: the
login page (a wrong password said plainly, the lockout with its retry time), a job made while signed in (the event
stream and the signed image URLs), my API keys (created with scopes and expiry, the secret shown once, revoked),
an admin managing users, and logout (the token stops working)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import DESKTOP, PHONE, PageGuard, screenshot
from tests.conftest import Stack, add_user, launch_stack, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Accounts live in the session's shared Redis: these names are this module's own (test_auth has alice and bob,
# test_client carol, the drop-in API tests ann, ben, cara and dan).
PASSWORDS = {"web-admin": "admin-password-1", "wendy": "wendy-password-1", "walt": "walt-password-1"}


@pytest.fixture(scope="module")
def stack(redis_server: Any, models_dir: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One secured stack for the module (it stands in for the shared stack, so `guard` watches its origin)."""
    secured = launch_stack(
        redis_server.url,
        models_dir,
        tmp_path_factory.mktemp("webui-auth"),
        SDQ_AUTH="jwt,api-key",
        SDQ_QUEUE_NAME="webui-auth-queue",
        SDQ_LOGIN_MAX_FAILURES="2",
        SDQ_LOGIN_MAX_FAILURES_PER_ADDRESS="100",
    )
    try:
        # the first admin from the CLI, the others through the API
        add_user(secured, "web-admin", PASSWORDS["web-admin"], "admin")
        admin = requests.post(
            secured.url("/api/v1/auth/login"),
            json={"username": "web-admin", "password": PASSWORDS["web-admin"]},
            timeout=10,
        ).json()["access_token"]
        for name in ("wendy", "walt"):
            added = requests.post(
                secured.url("/api/v1/auth/users"),
                json={"name": name, "password": PASSWORDS[name]},
                headers={"Authorization": f"Bearer {admin}"},
                timeout=10,
            )
            assert added.status_code == 201, added.text
        yield secured
    finally:
        secured.stop()


@pytest.fixture
def page(browser: Any, stack: Stack, guard: PageGuard) -> Iterator[Any]:
    """A guarded page at the UI's login page; every bearer token it sends is kept in page.tokens."""
    guard.allow_console(r"status of 401")
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = guard.watch(context.new_page())
    opened.tokens = []
    opened.on("request", lambda r: opened.tokens.append(r.headers.get("authorization")))
    opened.goto(stack.url("/"))
    opened.get_by_role("button", name="Sign in").wait_for(timeout=10_000)
    yield opened
    context.close()


def sign_in(page: Any, name: str, password: str | None = None) -> None:
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(password or PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


def test_login_wrong_password_then_a_job_signed_in_then_logout(page: Any, stack: Stack, guard: PageGuard) -> None:
    """No form before signing in; a wrong password is said plainly; signed in, priority 'high' (not her role's) is
    refused next to the picker; a job streams its progress and its image loads from a signed URL; the token is
    nowhere in storage; Log out revokes it and shows the login page."""
    guard.allow_console(r"status of 403")
    assert page.get_by_label("Prompt", exact=True).is_hidden()
    sign_in(page, "wendy", "not-her-password")
    error = page.locator("#login-error")
    error.wait_for()
    assert error.text_content() == "Wrong user name or password."
    sign_in(page, "wendy")
    page.wait_for_selector("body[data-ready=all]", timeout=10_000)
    assert page.locator("#whoami").text_content() == "wendy"
    assert page.locator("#login").is_hidden()

    page.get_by_label("Prompt", exact=True).fill("a signed-in lighthouse")
    for label, value in (("Width", "64"), ("Height", "64"), ("Steps", "3")):
        page.get_by_label(label).fill(value)
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Generate").click()
    refused = page.locator("#e-priority")
    refused.wait_for()
    assert "reserved for: admin" in (refused.text_content() or "")
    assert page.get_by_label("Priority").get_attribute("aria-invalid") == "true"
    assert page.locator("#job-list li.job").filter(has_text="a signed-in lighthouse").count() == 0
    page.get_by_label("Priority").select_option("normal")
    page.get_by_role("button", name="Generate").click()
    item = page.locator("#job-list li.job").filter(has_text="a signed-in lighthouse")
    item.and_(page.locator("[data-status=finished]")).wait_for(timeout=60_000)
    assert item.locator("progress").evaluate("b => [b.value, b.max]") == [3, 3]
    thumb = page.locator(f"#gallery-grid li[data-job-id='{item.get_attribute('data-job-id')}'] img")
    wait_until(lambda: thumb.evaluate("i => i.complete && i.naturalWidth > 0"), 10, "the signed thumbnail")
    assert "sig=" in (thumb.get_attribute("src") or "")

    bearers = [t for t in page.tokens if t and t.startswith("Bearer ")]
    assert bearers, "API calls carry the access token"
    token = bearers[-1]
    storage = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert token.split()[1] not in storage and "eyJ" not in storage, "tokens live in memory only"
    assert requests.get(stack.url("/api/v1/auth/me"), headers={"Authorization": token}, timeout=10).status_code == 200

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_label("Prompt", exact=True).is_hidden()
    assert requests.get(stack.url("/api/v1/auth/me"), headers={"Authorization": token}, timeout=10).status_code == 401


def test_a_locked_account_says_when_to_try_again(page: Any, guard: PageGuard) -> None:
    """Two failed sign-ins for walt (SDQ_LOGIN_MAX_FAILURES=2), then a third attempt: 429, shown with its time."""
    guard.allow_console(r"status of 429")
    error = page.locator("#login-error")
    for _ in range(2):
        sign_in(page, "walt", "wrong-password")
        wait_until(lambda: error.text_content() == "Wrong user name or password.", 10, "the 401")
        page.evaluate("document.getElementById('login-error').textContent = ''")
    sign_in(page, "walt")
    wait_until(lambda: "Too many" in (error.text_content() or ""), 10, "the lockout")
    text = error.text_content() or ""
    match = re.search(r"Try again at .+ \(in (\d+) s\)", text)
    assert match and 800 < int(match.group(1)) <= 900, text


def test_create_and_revoke_an_api_key(page: Any, stack: Stack) -> None:
    """Account: a key with one scope and 7 days is created; its secret is shown once and works with that scope
    only; the list shows it; Revoke removes it and the key stops working."""
    sign_in(page, "wendy")
    page.wait_for_selector("body[data-ready=all]", timeout=10_000)
    page.get_by_role("button", name="Account").click()
    page.get_by_label("Key name").fill("laptop script")
    page.get_by_label("Expires after (days)").fill("7")
    page.get_by_label("jobs:read").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#key-secret")
    secret.wait_for()
    key = secret.text_content() or ""
    me = requests.get(stack.url("/api/v1/auth/me"), headers={"X-API-Key": key}, timeout=10)
    assert me.status_code == 200 and me.json()["scopes"] == ["jobs:read"] and me.json()["user"] == "wendy"
    row = page.locator("#key-list tr").filter(has_text="laptop script")
    row.wait_for()
    assert "jobs:read" in (row.text_content() or "")
    assert key not in (page.locator("#key-list").text_content() or ""), "the secret is not in the list"

    page.get_by_role("button", name="Revoke laptop script").click()
    row.wait_for(state="detached")
    assert page.locator("#key-created").is_hidden(), "the secret is not shown again"
    assert requests.get(stack.url("/api/v1/auth/me"), headers={"X-API-Key": key}, timeout=10).status_code == 401


def test_an_admin_adds_and_disables_a_user_others_see_no_users_panel(page: Any, stack: Stack) -> None:
    """web-admin adds wanda from the Users panel; wanda can sign in; Disable stops her; wendy has no Users panel."""
    sign_in(page, "web-admin")
    page.wait_for_selector("body[data-ready=all]", timeout=10_000)
    page.get_by_role("button", name="Account").click()
    page.get_by_label("New user name").fill("wanda")
    page.get_by_label("Their password").fill("wanda-password-1")
    page.get_by_role("button", name="Add user").click()
    row = page.locator("#user-list tr[data-user=wanda]")
    row.wait_for()
    assert "active" in (row.text_content() or "")
    login = {"username": "wanda", "password": "wanda-password-1"}
    assert requests.post(stack.url("/api/v1/auth/login"), json=login, timeout=10).status_code == 200
    page.get_by_role("button", name="Disable wanda").click()
    wait_until(lambda: "disabled" in (row.text_content() or ""), 10, "wanda disabled")
    assert requests.post(stack.url("/api/v1/auth/login"), json=login, timeout=10).status_code == 401

    page.get_by_role("button", name="Log out").click()
    sign_in(page, "wendy")
    page.wait_for_selector("body[data-ready=all]", timeout=10_000)
    page.get_by_role("button", name="Account").click()
    assert page.locator("#users").is_hidden()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots_of_login_and_account(page: Any, tmp_path: Path, device: str) -> None:
    """The login page and the Account view (keys and users) at 1280 and 360 px, nothing scrolling sideways."""
    page.set_viewport_size(PHONE if device == "phone" else DESKTOP)
    screenshot(page, f"login-{device}", tmp_path)
    sign_in(page, "web-admin")
    page.wait_for_selector("body[data-ready=all]", timeout=10_000)
    page.get_by_role("button", name="Account").click()
    page.get_by_label("Key name").fill("screenshot key")
    page.get_by_role("button", name="Create key").click()
    page.locator("#key-secret").wait_for()
    screenshot(page, f"account-{device}", tmp_path)
