"""store.connection: ``redis+sentinel://`` URLs parsed into sentinels, service, db and the two passwords."""

from __future__ import annotations

import pytest

from store.connection import (
    SENTINEL_PORT,
    SentinelConnection,
    SentinelSSLConnection,
    is_sentinel_url,
    parse_sentinel_url,
)


def test_a_full_url_names_every_part() -> None:
    url = "redis+sentinel://app:p%40ss@10.0.0.1:26380,[::1],sentinel-c/sdq/2?sentinel_password=sp&sentinel_username=s"
    parsed = parse_sentinel_url(url)
    assert parsed.sentinels == [("10.0.0.1", 26380), ("::1", SENTINEL_PORT), ("sentinel-c", SENTINEL_PORT)]
    assert (parsed.service, parsed.db, parsed.username, parsed.password) == ("sdq", 2, "app", "p@ss")
    assert (parsed.sentinel_username, parsed.sentinel_password, parsed.tls) == ("s", "sp", False)
    assert parsed.node_options()["connection_class"] is SentinelConnection
    assert "p@ss" not in repr(parsed) and "sp" not in repr(parsed).replace("sentinel", "")


def test_password_only_db_defaults_to_zero_and_tls_by_scheme() -> None:
    parsed = parse_sentinel_url("rediss+sentinel://:secret@host/mymaster")
    assert (parsed.username, parsed.password, parsed.db, parsed.tls) == (None, "secret", 0, True)
    assert parsed.node_options()["connection_class"] is SentinelSSLConnection
    assert parsed.sentinel_options()["ssl"] is True


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://host:26379",  # no service
        "redis+sentinel://host:26379/sdq/x",  # db not a number
        "redis+sentinel://host:26379/sdq/0/extra",
        "redis+sentinel://host:port/sdq",
        "redis://host:6379/0",
    ],
)
def test_a_bad_url_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_sentinel_url(url)


def test_only_sentinel_schemes_take_the_sentinel_path() -> None:
    assert is_sentinel_url("REDIS+SENTINEL://h/s") and is_sentinel_url("rediss+sentinel://h/s")
    assert not is_sentinel_url("redis://h:6379/0") and not is_sentinel_url("rediss://h/0")
