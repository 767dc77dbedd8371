"""Short-lived signed URLs for images, so an ``<img src>`` works without a header and leaks nothing else:
the signature covers the exact path and the expiry, and is checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import time


def _mac(secret: bytes, path: str, expires: int) -> str:
    return hmac.new(secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def sign_path(secret: bytes, path: str, ttl: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + ttl)
    return f"{path}?exp={expires}&sig={_mac(secret, path, expires)}"


def is_valid_signature(secret: bytes, path: str, expires: int | None, signature: str | None) -> bool:
    if expires is None or signature is None or expires < time.time():
        return False
    return hmac.compare_digest(_mac(secret, path, expires), signature)
