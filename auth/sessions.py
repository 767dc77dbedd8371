"""Session epochs: ending every session of a user at once.

``sdq:epoch:<user>`` counts how often a user's sessions were ended (absent = 0). Every token carries the epoch it
was issued in (claim ``epo``); access and refresh tokens from an older epoch are refused. A password change,
disabling the account, and a system account that is gone, locked or out of its group at refresh time each move the
epoch on, which ends every access and refresh token issued before.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.client import Pipeline

from schemas.keys import epoch_key


def end_sessions(redis: Redis | Pipeline, user: str) -> None:
    """Move the user's epoch on (inside a pipeline: when it executes)."""
    redis.incr(epoch_key(user))


def current_epoch(redis: Redis, user: str) -> int:
    value: Any = redis.get(epoch_key(user))
    return int(value) if value is not None else 0
