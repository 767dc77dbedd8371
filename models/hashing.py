"""Model file hashes: full sha256 (computed once, cached in Redis by path + size + mtime, and in the process by
path + size + mtime_ns, so a submit whose cache key names a 10-file model folder makes no Redis round trip for it)
and the AUTOMATIC1111 short hash (its first 10 hex digits, A1111's "AutoV2"). Torch-free.

Files are opened only when regular (``models.untrusted.open_regular``: a FIFO would block) and read in chunks; a
folder's files come from the registry's bounded walk (``summarize_folder``: depth and entry count limited)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from models.untrusted import open_regular, summarize_folder
from schemas.keys import file_hash_key

CHUNK = 8 * 1024 * 1024
MEMO_ENTRIES = 4096


class HashMemo:
    """Hashes this process already knows, keyed by path, size and mtime_ns (a changed file is a new key); LRU."""

    def __init__(self, entries: int = MEMO_ENTRIES) -> None:
        self.entries = entries
        self._known: OrderedDict[tuple[str, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, stat: os.stat_result) -> str | None:
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            found = self._known.get(key)
            if found is not None:
                self._known.move_to_end(key)
            return found

    def put(self, path: Path, stat: os.stat_result, sha256: str) -> None:
        with self._lock:
            self._known[(str(path), stat.st_size, stat.st_mtime_ns)] = sha256
            while len(self._known) > self.entries:
                self._known.popitem(last=False)


MEMO = HashMemo()


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
    stat = path.stat()
    known = MEMO.get(path, stat)
    if known:
        return known
    found = cached_sha256(redis, path)
    if not found:
        found = file_sha256(path)
        mapping = {"size": stat.st_size, "mtime": repr(stat.st_mtime), "sha256": found}
        redis.hset(file_hash_key(path), mapping=mapping)
    MEMO.put(path, stat, found)
    return found


def content_sha256(redis: Any, path: Path) -> str:
    """A file's sha256, or for a folder the sha256 of its files' relative paths and sha256s (each cached)."""
    if path.is_file():
        return compute_sha256(redis, path)
    digest = hashlib.sha256()
    for file in summarize_folder(path).files:
        digest.update(f"{file.relative_to(path).as_posix()}\0{compute_sha256(redis, file)}\n".encode())
    return digest.hexdigest()
