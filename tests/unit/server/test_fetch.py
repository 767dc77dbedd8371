"""The SSRF guard of image URLs: the address classifier (exhaustively), host names, and the fetcher against real
HTTP(S) servers on 127.0.0.1 (allowed through ``allow`` only where a test fetches successfully)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.errors import RequestInvalid
from schemas.settings import Settings
from server.fetch import FetchError, ImageFetcher, IPAddress, address_refusal, host_name_refusal
from server.images import fetch_bytes, is_url, read_bytes
from tests.imageserver import ImageServer, certificates, ipv6_loopback_works, network, png_bytes, serve

LOOPBACK = (network("127.0.0.1/32"),)
LIMIT = 100_000


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        # IPv4
        ("0.0.0.0", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.0.1", "private"),
        ("192.168.255.255", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.0.1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.100.100.200", "CGNAT"),  # Alibaba Cloud's metadata service
        ("100.127.255.254", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.1.2.3", "private"),  # "this network"
        ("192.0.0.8", "not a globally reachable"),  # IETF protocol assignments
        ("192.0.2.1", "private"),  # documentation ranges
        ("198.18.0.1", "private"),  # benchmarking
        ("198.51.100.7", "private"),
        ("203.0.113.9", "private"),
        # IPv6
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("febf:ffff::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "private"),  # AWS' IPv6 metadata service
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("2001:db8::1", "private"),
        ("3fff::1", "not a globally reachable"),  # documentation (2024)
        ("100::1", "reserved"),  # discard-only
        ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible
        ("2002:7f00:1::1", "6to4/Teredo"),
        ("2001::1", "6to4/Teredo"),
        ("64:ff9b:1::1", "reserved"),  # local-use NAT64
        # IPv6 carrying a refused IPv4 address
        ("::ffff:127.0.0.1", "loopback address (IPv4-mapped 127.0.0.1)"),
        ("::ffff:10.1.2.3", "private address (IPv4-mapped 10.1.2.3)"),
        ("::ffff:169.254.169.254", "cloud metadata address (IPv4-mapped"),
        ("::ffff:100.64.0.1", "CGNAT"),
        ("::ffff:0.0.0.0", "unspecified"),
        ("64:ff9b::7f00:1", "loopback address (NAT64 127.0.0.1)"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ],
)
def test_refused_addresses(address: str, reason: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal, refusal


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "192.169.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_global_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "allow", "allowed"),
    [
        ("127.0.0.1", ["127.0.0.0/8"], True),
        ("127.0.0.2", ["127.0.0.1/32"], False),
        ("10.1.2.3", ["10.1.0.0/16"], True),
        ("10.2.0.1", ["10.1.0.0/16"], False),
        ("::ffff:127.0.0.1", ["127.0.0.0/8"], True),  # the IPv4 address inside is allowed
        ("::1", ["127.0.0.0/8"], False),  # versions do not mix
        ("::1", ["::1/128"], True),
        ("fd12::5", ["fd12::/16"], True),
        ("169.254.169.254", ["10.0.0.0/8", "192.168.0.0/16"], False),
    ],
)
def test_allowed_networks(address: str, allow: list[str], allowed: bool) -> None:
    networks = [network(cidr) for cidr in allow]
    assert (address_refusal(ipaddress.ip_address(address), networks) is None) is allowed


def test_scoped_link_local_is_refused() -> None:
    assert address_refusal(ipaddress.ip_address("fe80::1%eth0")) == "a link-local address"


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "localhost.", "api.localhost", "localhost.localdomain", "ip6-localhost"]
)
def test_local_host_names_are_refused(host: str) -> None:
    assert host_name_refusal(host) == f"refused: {host} is a local host name"


@pytest.mark.parametrize("host", ["example.com", "localhost.example.com", "mylocalhost", "images.test"])
def test_other_host_names_are_resolved_first(host: str) -> None:
    assert host_name_refusal(host) is None


def fetcher(**options: object) -> ImageFetcher:
    return ImageFetcher(**{"max_bytes": LIMIT, "timeout": 5.0, **options})  # type: ignore[arg-type]


def refusal(url: str, **options: object) -> str:
    with pytest.raises(FetchError) as caught:
        fetcher(**options).fetch(url)
    return str(caught.value)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with serve("127.0.0.1") as running:
        yield running


def test_an_allowed_server_answers_with_the_image(server: ImageServer) -> None:
    assert fetcher(allow=LOOPBACK).fetch(server.url("/image.png")) == server.png
    assert server.seen[-1].host == f"127.0.0.1:{server.port}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:{port}/image.png", "refused: 127.0.0.1 is a loopback address"),
        ("http://[::1]:{port}/image.png", "refused: ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/image.png", "refused: ::ffff:7f00:1 is a loopback address (IPv4-mapped"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the link-local cloud metadata address"),
        ("http://10.0.0.1/image.png", "refused: 10.0.0.1 is a private address"),
        ("http://0.0.0.0:{port}/image.png", "refused: 0.0.0.0 is an unspecified address"),
        ("http://localhost:{port}/image.png", "refused: localhost is a local host name"),
        ("http://2130706433:{port}/image.png", "refused: 2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://127.1:{port}/image.png", "resolves to 127.0.0.1, a loopback address"),
        ("ftp://example.com/image.png", "only http and https URLs are fetched, not ftp"),
        ("file:///etc/passwd", "only http and https URLs are fetched, not file"),
        ("http://user:secret@example.com/image.png", "credentials in the URL"),
        ("http://[::1/", "not a valid URL"),
        ("http:///image.png", "has no host"),
    ],
)
def test_refusals_without_an_allow_list(server: ImageServer, url: str, message: str) -> None:
    assert message in refusal(url.format(port=server.port))
    assert server.seen == []  # refused before any connection


def test_a_name_is_judged_by_every_address_it_resolves_to(server: ImageServer) -> None:
    def mixed(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    message = refusal(server.url("/image.png", host="images.test"), resolver=mixed)
    assert message == "refused: images.test resolves to 127.0.0.1, a loopback address"

    def internal(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("169.254.169.254")]

    message = refusal("http://metadata.google.internal/computeMetadata/v1/", resolver=internal)
    assert "metadata.google.internal resolves to 169.254.169.254, the link-local cloud metadata address" in message
    assert "could not resolve nothing.invalid" in refusal("http://nothing.invalid/x.png")


def test_the_connection_goes_to_the_checked_address_with_the_original_host(server: ImageServer) -> None:
    """DNS rebinding: the name is resolved once per hop and the request goes to that address; a second answer
    (here a private one) is never asked for. The server still sees the name in Host."""
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address(next(answers))]

    body = fetcher(allow=LOOPBACK, resolver=rebinding).fetch(server.url("/host", host="images.test"))
    assert body == server.png
    assert calls == ["images.test"]
    assert server.seen[-1].host == f"images.test:{server.port}"


def test_https_uses_the_name_for_sni_and_the_certificate(tmp_path: Path) -> None:
    certs = certificates(tmp_path, "images.test")

    def to_loopback(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    with serve("127.0.0.1", tls=certs.server) as tls_server:
        secure = fetcher(allow=LOOPBACK, resolver=to_loopback, ssl_context=certs.client)
        assert secure.fetch(tls_server.url("/image.png", host="images.test")) == tls_server.png
        assert tls_server.sni == ["images.test"]
        assert tls_server.seen[-1].host == f"images.test:{tls_server.port}"
        # a name the certificate does not cover fails verification, though it reaches the same address
        wrong = refusal(
            tls_server.url("/image.png", host="other.test"),
            allow=LOOPBACK,
            resolver=to_loopback,
            ssl_context=certs.client,
        )
        assert wrong.startswith("could not connect to other.test") and "certificate" in wrong.lower()
        # the IP literal is not in the certificate either
        assert "certificate" in refusal(tls_server.url("/image.png"), allow=LOOPBACK, ssl_context=certs.client).lower()


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback here")
def test_ipv6_literals_connect_when_allowed() -> None:
    with serve("::1") as server6:
        assert fetcher(allow=(network("::1/128"),)).fetch(server6.url("/image.png")) == server6.png
        assert "::1 is a loopback address" in refusal(server6.url("/image.png"))


def test_redirects_are_followed_and_each_hop_is_checked(server: ImageServer) -> None:
    allowed = fetcher(allow=LOOPBACK)
    assert allowed.fetch(server.url("/redirect?to=/image.png")) == server.png
    to_metadata = refusal(server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"), allow=LOOPBACK)
    assert to_metadata == (
        "refused: 169.254.169.254 is the link-local cloud metadata address "
        "(redirected to http://169.254.169.254/latest/meta-data/)"
    )
    # a second server on a loopback address the allow list does not name
    with serve("127.0.0.2") as other:
        message = refusal(server.url(f"/redirect?to={other.url('/image.png')}"), allow=LOOPBACK)
        assert message.startswith("refused: 127.0.0.2 is a loopback address (redirected to")
        assert other.seen == []
    assert "refused: localhost is a local host name" in refusal(
        server.url("/redirect?to=http://localhost/x"), allow=LOOPBACK
    )
    assert "only http and https" in refusal(server.url("/redirect?to=file:///etc/passwd"), allow=LOOPBACK)


def test_too_many_redirects(server: ImageServer) -> None:
    assert refusal(server.url("/loop"), allow=LOOPBACK) == "too many redirects (more than 3)"
    assert len(server.seen) == 4  # the first request and three redirects
    assert refusal(server.url("/redirect?to=/image.png"), allow=LOOPBACK, max_redirects=0) == (
        "too many redirects (more than 0)"
    )
    assert fetcher(allow=LOOPBACK, max_redirects=1).fetch(server.url("/redirect?to=/image.png")) == server.png


@pytest.mark.parametrize(
    "path",
    [f"/big?n={LIMIT + 1}", f"/chunked?n={LIMIT * 3}", f"/close?n={LIMIT * 3}"],
    ids=["content-length", "chunked", "no-length"],
)
def test_the_byte_limit(server: ImageServer, path: str) -> None:
    assert refusal(server.url(path), allow=LOOPBACK) == f"the image at the URL is larger than {LIMIT} bytes"


def test_bodies_at_the_limit_pass_and_a_lying_length_reads_no_further(server: ImageServer) -> None:
    allowed = fetcher(allow=LOOPBACK)
    assert len(allowed.fetch(server.url(f"/big?n={LIMIT}"))) == LIMIT
    assert len(allowed.fetch(server.url(f"/chunked?n={LIMIT}"))) == LIMIT
    # claims 1000 bytes and sends ten megabytes: only the claimed 1000 are read
    assert len(allowed.fetch(server.url("/lying?n=10000000&claim=1000"))) == 1000
    # claims more than it sends, then closes: an error, not a short image
    assert "download from the URL failed" in refusal(server.url("/lying?n=10&claim=1000"), allow=LOOPBACK)


def test_timeouts_cover_the_whole_fetch(server: ImageServer) -> None:
    for path in ("/drip", "/stall"):
        started = time.monotonic()
        assert refusal(server.url(path), allow=LOOPBACK, timeout=0.5) == "timed out after 0.5 s"
        assert time.monotonic() - started < 2.0, path

    release = threading.Event()

    def slow_dns(host: str, port: int) -> list[IPAddress]:
        release.wait(5)
        return [ipaddress.ip_address("127.0.0.1")]

    started = time.monotonic()
    assert refusal("http://slow.test/x.png", resolver=slow_dns, timeout=0.3) == "timed out after 0.3 s"
    assert time.monotonic() - started < 1.5
    release.set()


def test_http_errors_and_encodings(server: ImageServer) -> None:
    assert refusal(server.url("/missing"), allow=LOOPBACK) == "HTTP 404 from the URL"
    assert "Content-Encoding gzip" in refusal(server.url("/gzip"), allow=LOOPBACK)
    assert fetcher(allow=LOOPBACK).fetch(server.url("/text")).startswith(b"<html>")  # the image checks refuse it


def test_refusals_name_the_field(server: ImageServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SDQ_CONFIG", str(tmp_path / "absent.toml"))
    blocked = Settings()
    with pytest.raises(RequestInvalid) as caught:
        fetch_bytes(server.url("/image.png"), "mask", blocked)
    assert caught.value.errors[0].loc == ["body", "mask"]
    assert caught.value.errors[0].msg == "refused: 127.0.0.1 is a loopback address"
    allowed = Settings(fetch_allow_networks=["127.0.0.0/8"], fetch_timeout=2)  # type: ignore[list-item]
    assert read_bytes(server.url("/image.png"), "init_image", allowed) == server.png
    assert read_bytes("data:image/png;base64,aGk=", "init_image", allowed) == b"hi"
    assert is_url("HTTPS://example.com/a.png") and is_url("ftp://x/") and not is_url("upl_" + "0" * 32)
    assert png_bytes() == server.png
