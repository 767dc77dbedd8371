"""Abuse limits in Redis, fixed windows: failed logins per user name and per address (lockout until the
window ends), submissions per principal per minute."""

from __future__ import annotations

from typing import Any

from redis import Redis

from schemas.errors import TooManyRequests


class Limits:
    def __init__(self, redis: Redis, max_failures: int, window: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window = window

    def _retry_after(self, key: str) -> int:
        ttl: Any = self.redis.ttl(key)
        return int(ttl) if ttl and ttl > 0 else self.window

    def check_login(self, username: str, address: str) -> None:
        for key in (f"sdq:loginfail:user:{username}", f"sdq:loginfail:addr:{address}"):
            count: Any = self.redis.get(key)
            if count is not None and int(count) >= self.max_failures:
                raise TooManyRequests("too many failed logins; try again later", self._retry_after(key))

    def record_login_failure(self, username: str, address: str) -> None:
        pipe = self.redis.pipeline()
        for key in (f"sdq:loginfail:user:{username}", f"sdq:loginfail:addr:{address}"):
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
        pipe.execute()

    def record_login_success(self, username: str) -> None:
        self.redis.delete(f"sdq:loginfail:user:{username}")

    def hit(self, name: str, limit: int, window: int) -> None:
        """Count one event for ``name``; TooManyRequests once ``limit`` events fall in the window."""
        key = f"sdq:rate:{name}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        count, _ = pipe.execute()
        if int(count) > limit:
            raise TooManyRequests(f"more than {limit} requests in {window} s", self._retry_after(key))
