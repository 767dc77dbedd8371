"""Disk usage of the outputs folder as the worker's last retention sweep measured it; read by the API's queue view.

Redis hash ``sdq:storage:<queue>`` (``schemas.keys.storage_key``), no TTL (each sweep overwrites it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from schemas.jobs import StorageView
from schemas.keys import storage_key


class StorageUsage(BaseModel):
    bytes: int
    folders: int
    swept_at: float  # epoch seconds

    def write(self, redis: Any, base_queue: str) -> None:
        redis.hset(storage_key(base_queue), mapping=self.model_dump())

    @classmethod
    def read(cls, redis: Any, base_queue: str) -> StorageUsage | None:
        raw: dict[bytes, bytes] = redis.hgetall(storage_key(base_queue))
        return cls.model_validate({k.decode(): v.decode() for k, v in raw.items()}) if raw else None

    def view(self) -> StorageView:
        return StorageView(bytes=self.bytes, folders=self.folders, swept_at=datetime.fromtimestamp(self.swept_at, UTC))
