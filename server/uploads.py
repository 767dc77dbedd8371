"""The upload quota: how many uploads, and how many bytes of them, each principal has stored.

Uploads sent to ``POST /api/v1/uploads`` and ``POST /api/v1/watermark/check`` are noted per owner in
``sdq:uploads:<owner>`` (upload id -> ``<created epoch>:<bytes>``); entries older than the retention time drop out,
as the sweep deletes their files then. Images a submit carries inline become uploads too, but are not counted: they
are a job's inputs, bounded by the submit limits. The check and the note are two steps, so concurrent uploads may
pass the quota by the few that raced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from schemas.errors import FieldError, PayloadTooLarge
from schemas.keys import uploads_key


@dataclass(frozen=True)
class UploadQuota:
    max_count: int
    max_bytes: int


class UploadLedger:
    def __init__(self, redis: Redis, retention_seconds: int) -> None:
        self.redis = redis
        self.retention = retention_seconds

    def usage(self, owner: str, now: float | None = None) -> tuple[int, int]:
        """(uploads, bytes) ``owner`` has stored now; forgets the expired ones."""
        now = time.time() if now is None else now
        raw: Any = self.redis.hgetall(uploads_key(owner))
        entries = {upload_id: value.decode().split(":") for upload_id, value in raw.items()}
        cutoff = now - self.retention
        expired = [upload_id for upload_id, (created, _) in entries.items() if float(created) <= cutoff]
        live = [int(size) for created, size in entries.values() if float(created) > cutoff]
        if expired:
            self.redis.hdel(uploads_key(owner), *expired)
        return len(live), sum(live)

    def record(self, owner: str, upload_id: str, size: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = uploads_key(owner)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, upload_id, f"{now:.3f}:{size}")
            pipe.expire(key, self.retention)
            pipe.execute()

    def check(self, owner: str, quota: UploadQuota, adding: int | None, field: str = "file") -> None:
        """PayloadTooLarge naming ``field`` when one more upload of ``adding`` bytes would pass the quota
        (``adding`` None: when the quota is already used up, before the upload is read)."""
        count, size = self.usage(owner)
        new_count, new_bytes = (count, size) if adding is None else (count + 1, size + adding)
        over_count = new_count >= quota.max_count if adding is None else new_count > quota.max_count
        over_bytes = new_bytes >= quota.max_bytes if adding is None else new_bytes > quota.max_bytes
        if not (over_count or over_bytes):
            return
        if over_count:
            msg = f"you have {count} uploads stored; the limit is {quota.max_count} (SDQ_MAX_UPLOADS_PER_USER)"
        else:
            msg = (
                f"your stored uploads use {size} bytes{'' if adding is None else f' and this one {adding}'}; the "
                f"limit is {quota.max_bytes} (SDQ_MAX_UPLOAD_BYTES_PER_USER)"
            )
        msg += "; uploads expire after the retention time (SDQ_RETENTION_SECONDS)"
        raise PayloadTooLarge(msg, [FieldError(loc=["body", field], msg=msg)])
