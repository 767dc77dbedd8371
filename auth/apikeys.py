"""API keys ``sdq_<random>``: only their sha256 is stored; the key itself is shown once, at creation.

``sdq:apikey:<sha256>`` holds the record; ``sdq:apikey-id:<id>`` maps the public id to the hash;
``sdq:apikeys:<owner>`` lists an owner's ids.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

from pydantic import BaseModel, Field
from redis import Redis

from auth.principal import Scope
from schemas.errors import RequestInvalid
from schemas.keys import API_KEYS_OF_PATTERN, api_key_id_key, api_key_key, api_keys_of_key

PREFIX = "sdq_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRecord(BaseModel):
    id: str
    owner: str
    name: str
    scopes: list[Scope]
    created_at: float
    expires_at: float | None = Field(None, description="Epoch seconds; null = never.")

    def is_expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at


def check_key_bounds(
    scopes: set[Scope], allowed: set[Scope], expires_at: float | None, parent: ApiKeyRecord | None
) -> float | None:
    """The new key's expiry, after refusing (422 naming the field) scopes beyond ``allowed`` and, for a key minted
    with the API key ``parent``, an expiry after the parent's (no expiry given: the parent's)."""
    if not scopes <= allowed:
        raise RequestInvalid.for_field(
            ["body", "scopes"], "scopes you may not grant: " + ", ".join(sorted(scopes - allowed))
        )
    if parent is None or parent.expires_at is None:
        return expires_at
    if expires_at is None:
        return parent.expires_at
    if expires_at > parent.expires_at:
        days_left = (parent.expires_at - time.time()) / 86400
        raise RequestInvalid.for_field(
            ["body", "expires_in_days"],
            f"a key made with an API key cannot outlive it: yours expires in {days_left:.1f} days; "
            "ask for fewer days, or leave expires_in_days out to take its expiry",
        )
    return expires_at


class ApiKeyStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def create(self, owner: str, name: str, scopes: list[Scope], expires_at: float | None) -> tuple[ApiKeyRecord, str]:
        key = PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=uuid.uuid4().hex[:16],
            owner=owner,
            name=name,
            scopes=scopes,
            created_at=time.time(),
            expires_at=expires_at,
        )
        digest = _digest(key)
        pipe = self.redis.pipeline()
        pipe.set(api_key_key(digest), record.model_dump_json())
        pipe.set(api_key_id_key(record.id), digest)
        pipe.sadd(api_keys_of_key(owner), record.id)
        pipe.execute()
        return record, key

    def lookup(self, key: str) -> ApiKeyRecord | None:
        """The record of a presented key, if it exists and has not expired."""
        if not key.startswith(PREFIX):
            return None
        raw: Any = self.redis.get(api_key_key(_digest(key)))
        if raw is None:
            return None
        record = ApiKeyRecord.model_validate_json(raw)
        return None if record.is_expired() else record

    def get(self, key_id: str) -> ApiKeyRecord | None:
        digest: Any = self.redis.get(api_key_id_key(key_id))
        raw: Any = self.redis.get(api_key_key(digest.decode())) if digest else None
        return ApiKeyRecord.model_validate_json(raw) if raw else None

    def of_owner(self, owner: str | None) -> list[ApiKeyRecord]:
        """An owner's keys, or everyone's (owner None)."""
        if owner is None:
            owners = [k.decode().rsplit(":", 1)[1] for k in self.redis.scan_iter(match=API_KEYS_OF_PATTERN)]
        else:
            owners = [owner]
        records = []
        for name in owners:
            ids: Any = self.redis.smembers(api_keys_of_key(name))
            records += [r for r in (self.get(i.decode()) for i in ids) if r]
        return sorted(records, key=lambda r: r.created_at)

    def revoke(self, key_id: str) -> bool:
        record = self.get(key_id)
        digest: Any = self.redis.get(api_key_id_key(key_id))
        if record is None or digest is None:
            return False
        pipe = self.redis.pipeline()
        pipe.delete(api_key_key(digest.decode()), api_key_id_key(key_id))
        pipe.srem(api_keys_of_key(record.owner), key_id)
        pipe.execute()
        return True
