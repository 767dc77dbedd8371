"""Local accounts in Redis: ``sdq:user:<name>`` hashes and the set ``sdq:users``."""

from __future__ import annotations

import re
import time
from typing import Any

from pydantic import BaseModel, Field
from redis import Redis

from auth.passwords import hash_password, verify_password
from auth.principal import Role
from auth.sessions import end_sessions
from schemas.keys import USERS_KEY, user_key

USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


class UserRecord(BaseModel):
    name: str
    roles: list[Role]
    disabled: bool = False
    created_at: float = Field(default_factory=time.time)


class UserExists(Exception):
    pass


class NoSuchUser(Exception):
    pass


class UserStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def create(self, name: str, password: str, roles: list[Role]) -> UserRecord:
        if not USER_NAME.fullmatch(name):
            raise ValueError("user names are 1-64 of a-z 0-9 _ . - and start with a letter or _")
        if len(password) < 8:
            raise ValueError("passwords have at least 8 characters")
        record = UserRecord(name=name, roles=roles)
        fields = {
            "roles": ",".join(roles),
            "disabled": "0",
            "created_at": record.created_at,
            "password": hash_password(password),
        }
        if not self.redis.sadd(USERS_KEY, name):
            raise UserExists(name)
        self.redis.hset(user_key(name), mapping=fields)  # type: ignore[arg-type]
        return record

    def get(self, name: str) -> UserRecord | None:
        raw: dict[bytes, bytes] = self.redis.hgetall(user_key(name))  # type: ignore[assignment]
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return UserRecord(
            name=name,
            roles=[Role(r) for r in data["roles"].split(",") if r],
            disabled=data.get("disabled") == "1",
            created_at=float(data.get("created_at", 0)),
        )

    def all(self) -> list[UserRecord]:
        names: Any = self.redis.smembers(USERS_KEY)
        records = [self.get(n.decode()) for n in names]
        return sorted((r for r in records if r), key=lambda r: r.name)

    def authenticate(self, name: str, password: str) -> UserRecord | None:
        """The enabled user whose password matches; None otherwise (constant work for unknown names)."""
        hashed: Any = self.redis.hget(user_key(name), "password") if USER_NAME.fullmatch(name) else None
        if not verify_password(password, hashed.decode() if hashed else None):
            return None
        record = self.get(name)
        return record if record and not record.disabled else None

    def _require(self, name: str) -> None:
        if not self.redis.exists(user_key(name)):
            raise NoSuchUser(name)

    def set_password(self, name: str, password: str) -> None:
        """Set the password and end every session of the user (their tokens from before are refused)."""
        self._require(name)
        if len(password) < 8:
            raise ValueError("passwords have at least 8 characters")
        pipe = self.redis.pipeline()
        pipe.hset(user_key(name), "password", hash_password(password))
        end_sessions(pipe, name)
        pipe.execute()

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (ending every session) or enable the user; enabling brings no old session back."""
        self._require(name)
        pipe = self.redis.pipeline()
        pipe.hset(user_key(name), "disabled", "1" if disabled else "0")
        if disabled:
            end_sessions(pipe, name)
        pipe.execute()

    def set_roles(self, name: str, roles: list[Role]) -> None:
        self._require(name)
        self.redis.hset(user_key(name), "roles", ",".join(roles))
