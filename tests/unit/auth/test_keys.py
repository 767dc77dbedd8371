"""The signing secret: kept atomically with mode 0600, refused when weak, and split into independent keys."""

from __future__ import annotations

import multiprocessing
import stat
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from auth.keys import (
    JWT_LABEL,
    URL_LABEL,
    InsecureConfiguration,
    derive_key,
    kept_secret,
    load_signing_keys,
    secret_path,
)
from schemas.settings import Settings


def test_key_derivation_is_hkdf_sha256() -> None:
    """derive_key is RFC 5869 HKDF-SHA256 (test case 3: no salt, no info; the first 32 bytes of the OKM)."""
    okm = derive_key(bytes.fromhex("0b" * 22), b"")
    assert okm.hex() == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"


def test_jwt_and_url_keys_are_distinct_and_neither_is_the_secret(tmp_path: Path) -> None:
    """Tokens and image URLs are signed with different keys derived from the one secret."""
    keys = load_signing_keys(Settings(data_dir=tmp_path, auth="jwt"))
    secret = secret_path(tmp_path).read_text().encode()
    assert keys.signing_key == derive_key(secret, JWT_LABEL) and keys.url_secret == derive_key(secret, URL_LABEL)
    assert len({keys.url_secret, bytes(keys.signing_key), secret}) == 3


def test_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    """The first start writes a 0600 secret of 64 characters; later starts read the same one."""
    first = kept_secret(tmp_path)
    path = secret_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 64 and kept_secret(tmp_path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary file left behind


def _start(data_dir: Path, barrier: Barrier, results: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    results.put(kept_secret(data_dir))


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    """Six processes released at once on a fresh data dir all read the same secret; one file, no leftovers."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(6)
    results: multiprocessing.Queue[str] = context.Queue()
    processes = [context.Process(target=_start, args=(tmp_path, barrier, results)) for _ in range(6)]
    for process in processes:
        process.start()
    secrets = {results.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert secrets == {secret_path(tmp_path).read_text()}
    assert [p.name for p in secret_path(tmp_path).parent.iterdir()] == ["secret.key"]


@pytest.mark.parametrize("content", ["", "\n", "short-secret", "changeme"])
def test_a_weak_kept_secret_refuses_to_start_and_is_not_replaced(tmp_path: Path, content: str) -> None:
    """An empty, short or default secret file stops the start with a message naming the file; it stays as it is."""
    path = secret_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(InsecureConfiguration, match=r"secret\.key holds a weak secret.*not replaced"):
        load_signing_keys(Settings(data_dir=tmp_path, auth="jwt"))
    assert path.read_text() == content


def test_a_weak_configured_secret_is_refused_outside_development(tmp_path: Path) -> None:
    """SDQ_JWT_SECRET=changeme stops a production start; development allows it."""
    with pytest.raises(InsecureConfiguration, match="SDQ_JWT_SECRET"):
        load_signing_keys(Settings(data_dir=tmp_path, auth="jwt", jwt_secret="changeme"))  # type: ignore[arg-type]
    dev = Settings(data_dir=tmp_path, auth="jwt", jwt_secret="changeme", environment="development")  # type: ignore[arg-type]
    assert load_signing_keys(dev).url_secret == derive_key(b"changeme", URL_LABEL)
    assert not secret_path(tmp_path).exists()
