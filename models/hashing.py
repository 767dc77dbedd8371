"""Model file hashes: full sha256 (computed once, cached in Redis by path + size + mtime) and the AUTOMATIC1111
short hash (its first 10 hex digits, A1111's "AutoV2"). Torch-free.

Files are opened only when regular (``models.untrusted.open_regular``: a FIFO would block) and read in chunks; a
folder's files come from the registry's bounded walk (``summarize_folder``: depth and entry count limited)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from models.untrusted import open_regular, summarize_folder
from schemas.keys import file_hash_key

CHUNK = 8 * 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def short_hash(sha256: str) -> str:
    return sha256[:10]


def cached_sha256(redis: Any, path: Path) -> str | None:
    """The cached hash if the file still has the size and mtime it was hashed with."""
    stat = path.stat()
    raw = redis.hgetall(file_hash_key(path))
    data = {k.decode(): v.decode() for k, v in raw.items()}
    if data.get("size") == str(stat.st_size) and data.get("mtime") == repr(stat.st_mtime):
        return data.get("sha256")
    return None


def compute_sha256(redis: Any, path: Path) -> str:
    found = cached_sha256(redis, path)
    if found:
        return found
    stat = path.stat()
    value = file_sha256(path)
    redis.hset(file_hash_key(path), mapping={"size": stat.st_size, "mtime": repr(stat.st_mtime), "sha256": value})
    return value


def content_sha256(redis: Any, path: Path) -> str:
    """A file's sha256, or for a folder the sha256 of its files' relative paths and sha256s (each cached)."""
    if path.is_file():
        return compute_sha256(redis, path)
    digest = hashlib.sha256()
    for file in summarize_folder(path).files:
        digest.update(f"{file.relative_to(path).as_posix()}\0{compute_sha256(redis, file)}\n".encode())
    return digest.hexdigest()
