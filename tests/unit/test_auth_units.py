"""Password hashing (passlib argon2; no bcrypt 72-byte trap) and URL signatures."""

from __future__ import annotations

import time

from auth.passwords import hash_password, verify_password
from auth.signing import is_valid_signature, sign_path


def test_argon2_hashes_verify_and_long_passwords_work() -> None:
    long_password = "p" * 100  # passlib 1.7.4 + bcrypt 5 raises on > 72 bytes; argon2 does not
    hashed = hash_password(long_password)
    assert hashed.startswith("$argon2id$")
    assert verify_password(long_password, hashed)
    assert not verify_password(long_password[:72], hashed)
    assert not verify_password("x", None)


def test_signed_paths_cover_path_and_expiry() -> None:
    secret = b"k" * 32
    signed = sign_path(secret, "/a/b", ttl=60)
    path, query = signed.split("?")
    params = dict(part.split("=") for part in query.split("&"))
    assert is_valid_signature(secret, path, int(params["exp"]), params["sig"])
    assert not is_valid_signature(secret, "/a/c", int(params["exp"]), params["sig"])
    assert not is_valid_signature(secret, path, int(params["exp"]) + 1, params["sig"])
    assert not is_valid_signature(b"other" * 8, path, int(params["exp"]), params["sig"])
    old = sign_path(secret, "/a/b", ttl=-5, now=time.time())
    exp, sig = (p.split("=")[1] for p in old.split("?")[1].split("&"))
    assert not is_valid_signature(secret, "/a/b", int(exp), sig)
