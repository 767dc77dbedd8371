"""The Redis connection policy: blocking reads never outlast the socket timeout."""

from __future__ import annotations

import pytest

from store.connection import BLOCKING_MARGIN_SECONDS, COMMAND_TIMEOUT_SECONDS, connect, connection_options


@pytest.mark.parametrize("blocking", [0, 1, 60, 405])
def test_socket_timeout_outlasts_the_longest_blocking_read(blocking: float) -> None:
    options = connection_options(blocking)
    assert options["socket_timeout"] >= max(
        COMMAND_TIMEOUT_SECONDS, blocking + BLOCKING_MARGIN_SECONDS * (blocking > 0)
    )
    assert options["socket_timeout"] > blocking


def test_connections_keep_alive_and_check_health() -> None:
    kwargs = connect("redis://127.0.0.1:1/0", blocking_seconds=60).connection_pool.connection_kwargs
    assert kwargs["socket_keepalive"] is True
    assert kwargs["health_check_interval"] > 0
    # redis-py 8 restores this value after maintenance events: it must be the long one too
    assert kwargs["orig_socket_timeout"] == kwargs["socket_timeout"] == 60 + BLOCKING_MARGIN_SECONDS


def test_redacted_url_hides_passwords() -> None:
    from store.connection import redacted_url

    assert redacted_url("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redacted_url("rediss://user:p%40ss@h/1") == "rediss://user:***@h/1"
    hidden = redacted_url("redis+sentinel://:pw@a:26379,b/mymaster?sentinel_password=x")
    assert "pw" not in hidden and "=x" not in hidden
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
