"""Upscaler factors as the worker measured them: written when a worker loads a model upscaler, read by the API to
check an upscale's passes at submit (``schemas.upscalers``).

Redis hash ``sdq:upscaler:<name>`` (``schemas.keys.upscaler_factor_key``) = {factor, size, mtime}: trusted only
while the file still has that size and mtime; else the factor in the file's name, if any.
"""

from __future__ import annotations

from typing import Any

from redis import Redis

from schemas.keys import upscaler_factor_key
from schemas.models import ModelEntry
from schemas.upscalers import factor_from_name


def _stamp(entry: ModelEntry) -> dict[str, str]:
    mtime = entry.modified_at.timestamp() if entry.modified_at else 0.0
    return {"size": str(entry.size_bytes), "mtime": repr(mtime)}


def record_factor(redis: Redis, entry: ModelEntry, factor: int) -> None:
    """The worker: ``entry``'s model (as it is on disk now) is of ``factor``."""
    redis.hset(upscaler_factor_key(entry.name), mapping={"factor": str(factor), **_stamp(entry)})  # type: ignore[dict-item]


def known_factor(redis: Redis, entry: ModelEntry) -> tuple[int, str] | None:
    """(factor, how it is known) of an upscaler model: the worker's record of this very file, else its name."""
    raw: Any = redis.hgetall(upscaler_factor_key(entry.name))
    record = {key.decode(): value.decode() for key, value in raw.items()}
    if record and {k: record.get(k) for k in ("size", "mtime")} == _stamp(entry) and record.get("factor", "").isdigit():
        return int(record["factor"]), ""
    named = factor_from_name(entry.name)
    return (named, " (from its name)") if named is not None else None
