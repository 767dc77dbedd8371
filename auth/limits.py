"""Abuse limits in Redis, fixed windows: login attempts per user name and per client address, submissions per
principal per minute.

A login first *reserves* an attempt (one Lua script: refuse if either counter is full, else count the attempt on
both), and only then is the password checked; so parallel wrong passwords reach the checker at most ``limit``
times. A right password gives the reservation back: it clears the user name's counter and returns the address's
attempt. Refused attempts count nothing, so a locked address cannot go on filling other users' counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis

from schemas.errors import TooManyRequests
from schemas.keys import login_address_key, login_user_key, rate_key

# KEYS: the counters; ARGV: their limits, then the window. Returns 0 (reserved) or the 1-based index of the
# full counter and its seconds to live.
_RESERVE = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then
    return {i, redis.call('TTL', key)}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[#ARGV]) end
end
return {0, 0}
"""

# Give an attempt back: decrement only a live positive counter (never create a key without expiry).
_RELEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
"""


@dataclass(frozen=True)
class LoginLimits:
    per_user: int
    per_address: int
    window: int


class Limits:
    def __init__(self, redis: Redis, login: LoginLimits) -> None:
        self.redis = redis
        self.login = login
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)

    def _retry_after(self, key: str, window: int) -> int:
        ttl: Any = self.redis.ttl(key)
        return int(ttl) if ttl and ttl > 0 else window

    def reserve_login(self, username: str, address: str) -> None:
        """Count one login attempt for the user name and the address, atomically; TooManyRequests (nothing
        counted) when either has used up its attempts in the window."""
        limits = self.login
        keys = [login_user_key(username), login_address_key(address)]
        full, ttl = self._reserve(keys=keys, args=[limits.per_user, limits.per_address, limits.window])
        if int(full) == 0:
            return
        which, limit = ("user name", limits.per_user) if int(full) == 1 else ("address", limits.per_address)
        retry_after = int(ttl) if int(ttl) > 0 else limits.window
        raise TooManyRequests(
            f"too many login attempts for this {which}: at most {limit} failed logins per {limits.window} s; "
            f"try again in {retry_after} s",
            retry_after,
        )

    def release_login(self, username: str, address: str) -> None:
        """A right password: clear the user name's counter and give the address its attempt back."""
        self.redis.delete(login_user_key(username))
        self._release(keys=[login_address_key(address)])

    def hit(self, name: str, limit: int, window: int) -> None:
        """Count one event for ``name``; TooManyRequests once ``limit`` events fall in the window."""
        key = rate_key(name)
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        count, _ = pipe.execute()
        if int(count) > limit:
            raise TooManyRequests(f"more than {limit} requests in {window} s", self._retry_after(key, window))
