"""Model file hashes: Redis keeps them across processes, the process keeps them across submits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from redis import Redis

from models.hashing import HashMemo, compute_sha256, content_sha256
from tests.conftest import RedisServer


def commands(redis: Redis) -> int:
    return sum(int(entry["calls"]) for name, entry in redis.info("commandstats").items() if name != "cmdstat_info")


def test_a_known_file_costs_no_redis_round_trip(redis_server: RedisServer, tmp_path: Path) -> None:
    redis = Redis.from_url(redis_server.url)
    folder = tmp_path / "model"
    folder.mkdir()
    for index in range(5):
        (folder / f"part{index}.bin").write_bytes(bytes([index]) * 100)
    first = content_sha256(redis, folder)
    before = commands(redis)
    assert content_sha256(redis, folder) == first
    assert commands(redis) == before  # all five hashes came from the process memo


def test_a_changed_file_is_hashed_again(redis_server: RedisServer, tmp_path: Path) -> None:
    redis = Redis.from_url(redis_server.url)
    path = tmp_path / "weights.bin"
    path.write_bytes(b"old")
    assert compute_sha256(redis, path) == hashlib.sha256(b"old").hexdigest()
    path.write_bytes(b"new")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert compute_sha256(redis, path) == hashlib.sha256(b"new").hexdigest()


def test_the_memo_is_bounded(tmp_path: Path) -> None:
    memo = HashMemo(entries=2)
    paths = [tmp_path / f"{name}.bin" for name in "abc"]
    for path in paths:
        path.write_bytes(path.name.encode())
        memo.put(path, path.stat(), path.name)
    assert memo.get(paths[0], paths[0].stat()) is None  # the oldest went first
    assert [memo.get(path, path.stat()) for path in paths[1:]] == ["b.bin", "c.bin"]
