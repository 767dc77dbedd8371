"""The client address that login limits count: the socket peer, unless that peer is a trusted proxy.

Behind trusted proxies (``SDQ_TRUSTED_PROXIES``, CIDRs) the address is the right-most ``X-Forwarded-For`` entry that
is not itself a trusted proxy: each proxy appends the address it received the request from, so entries to the left
of the first untrusted one can be anything the client wrote. A peer outside the list is taken as is and its
``X-Forwarded-For`` is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(value: str) -> Address | None:
    """An IP address from a peer or an X-Forwarded-For entry (``[v6]`` brackets allowed); None if it is none."""
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def forwarded_entries(headers: Sequence[str]) -> list[str]:
    """Every X-Forwarded-For entry, left to right, over all the header's lines."""
    return [entry.strip() for header in headers for entry in header.split(",") if entry.strip()]


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The address to count: see the module docstring. ``forwarded_for``: the X-Forwarded-For header lines."""
    if peer is None:
        return "unknown"
    nearest = parse_address(peer)
    if not is_trusted(nearest, proxies):
        return str(nearest) if nearest is not None else peer
    assert nearest is not None
    for entry in reversed(forwarded_entries(forwarded_for)):
        address = parse_address(entry)
        if address is None:
            break  # a trusted proxy passed on something that is no address: stop at that proxy
        nearest = address
        if not is_trusted(address, proxies):
            break
    return str(nearest)
