"""The client address login limits count: the peer, or X-Forwarded-For only behind trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from auth.clients import Network, client_address

PROXIES: list[Network] = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def test_an_untrusted_peer_is_the_client_and_its_forwarded_for_is_ignored() -> None:
    """A peer outside SDQ_TRUSTED_PROXIES cannot name another address through X-Forwarded-For."""
    assert client_address("203.0.113.9", ["198.51.100.1"], PROXIES) == "203.0.113.9"
    assert client_address("127.0.0.1", ["198.51.100.1"], []) == "127.0.0.1"


def test_behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() -> None:
    """Entries the client wrote itself (left of the first untrusted one) are skipped."""
    headers = ["1.1.1.1, 198.51.100.7", "10.1.2.3"]
    assert client_address("10.0.0.2", headers, PROXIES) == "198.51.100.7"


def test_a_trusted_peer_without_forwarded_for_is_the_client() -> None:
    """A request straight from a proxy host (a health check) counts against that host."""
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"


def test_when_every_entry_is_trusted_the_farthest_one_is_taken() -> None:
    """A chain of trusted proxies only: the left-most (farthest) hop."""
    assert client_address("10.0.0.2", ["10.9.9.9, 10.5.5.5"], PROXIES) == "10.9.9.9"


def test_garbage_from_a_trusted_proxy_stops_at_that_proxy() -> None:
    """An entry that is no address is not believed; the last trusted hop is counted instead."""
    assert client_address("10.0.0.2", ["198.51.100.7, not-an-ip"], PROXIES) == "10.0.0.2"


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("fd00::1", ["[2001:db8::6]"], "2001:db8::6"),
        ("::ffff:10.0.0.2", ["192.0.2.44"], "192.0.2.44"),
    ],
)
def test_ipv6_and_mapped_addresses_are_understood(peer: str, headers: list[str], expected: str) -> None:
    """IPv6 peers and entries, bracketed entries and IPv4-mapped peers are compared as addresses."""
    assert client_address(peer, headers, PROXIES) == expected


def test_no_peer_is_one_shared_unknown_address() -> None:
    """Without a socket peer (not over TCP) every such caller shares one counter."""
    assert client_address(None, ["198.51.100.1"], PROXIES) == "unknown"
