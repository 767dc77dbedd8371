"""Bounds of a new API key: no scope the minter lacks, and a key minted with a key never outlives it."""

from __future__ import annotations

import time

import pytest

from auth.apikeys import ApiKeyRecord, check_key_bounds
from auth.principal import Scope
from schemas.errors import RequestInvalid

DAY = 86400.0


def parent_key(expires_in: float | None) -> ApiKeyRecord:
    expires_at = time.time() + expires_in if expires_in is not None else None
    scopes = [Scope.JOBS_READ, Scope.KEYS_WRITE]
    return ApiKeyRecord(id="p", owner="a", name="p", scopes=scopes, created_at=time.time(), expires_at=expires_at)


def test_scopes_beyond_the_allowed_are_refused_naming_the_field() -> None:
    """Out-scoping: 422 on body.scopes listing the scopes that may not be granted."""
    with pytest.raises(RequestInvalid) as refused:
        check_key_bounds({Scope.JOBS_READ, Scope.GENERATE}, {Scope.JOBS_READ}, None, None)
    assert refused.value.errors[0].loc == ["body", "scopes"]
    assert "generate" in refused.value.errors[0].msg


def test_an_expiry_after_the_parent_keys_is_refused_naming_the_field() -> None:
    """Outliving: a child asking for more days than its parent has left is 422 on body.expires_in_days."""
    parent = parent_key(2 * DAY)
    with pytest.raises(RequestInvalid) as refused:
        check_key_bounds({Scope.JOBS_READ}, {Scope.JOBS_READ}, time.time() + 3 * DAY, parent)
    assert refused.value.errors[0].loc == ["body", "expires_in_days"]
    assert "expires in 2.0 days" in refused.value.errors[0].msg


def test_a_child_without_expiry_takes_its_parents() -> None:
    """No expires_in_days under an expiring parent: the child expires with it, not never."""
    parent = parent_key(2 * DAY)
    assert check_key_bounds({Scope.JOBS_READ}, {Scope.JOBS_READ}, None, parent) == parent.expires_at


def test_shorter_lives_and_unbounded_parents_pass_unchanged() -> None:
    """An expiry within the parent's, and any expiry under a parent that never expires, are kept as asked."""
    soon = time.time() + DAY
    assert check_key_bounds({Scope.JOBS_READ}, {Scope.JOBS_READ}, soon, parent_key(2 * DAY)) == soon
    assert check_key_bounds({Scope.JOBS_READ}, {Scope.JOBS_READ}, None, parent_key(None)) is None
    assert check_key_bounds(set(), {Scope.JOBS_READ}, soon, None) == soon
