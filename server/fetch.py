"""Fetch an image an http(s) URL names, without letting the URL reach the server's own networks (SSRF guard).

Rules, checked again on every redirect hop:

- Only ``http`` and ``https``; no credentials in the URL (``user:pass@``); any port (the address check below is the
  protection; a port does not make an internal address reachable).
- Host names: ``localhost``, ``*.localhost``, ``localhost.localdomain``, ``ip6-localhost`` and ``ip6-loopback`` are
  refused by name. Any other name is resolved once (``getaddrinfo``) and EVERY address it resolves to must pass
  :func:`address_refusal`; one refused address refuses the name.
- Refused addresses: unspecified, loopback, link-local (169.254/16 with the cloud metadata address, fe80::/10),
  multicast, shared/CGNAT (100.64/10), private (10/8, 172.16/12, 192.168/16, fc00::/7 and the rest of what
  ``ipaddress`` calls private), IPv6 site-local, reserved, 6to4/Teredo tunnels, and anything else that is not
  globally reachable (``is_global``). IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
  NAT64 ``64:ff9b::a.b.c.d``) are judged by that IPv4 address. Networks in ``SDQ_FETCH_ALLOW_NETWORKS`` pass
  despite the block (tests, trusted image servers on a LAN).
- No DNS-rebinding window: the request goes to the checked address itself (the URL's host is replaced by the IP),
  with the original ``Host`` header, and for https the TLS SNI and certificate check use the original name
  (httpx's ``sni_hostname`` extension). Environment proxies are ignored (a proxy would resolve the name again).
- At most ``SDQ_MAX_IMAGE_BYTES`` bytes: a larger Content-Length is refused before the body is read, and the body
  is counted while it streams (no Content-Length, chunked, or a lying one: httpx never reads past a declared
  length). Content encodings are not accepted (``Accept-Encoding: identity``), so no compressed bomb inflates.
- ``SDQ_FETCH_TIMEOUT`` seconds in all (name resolution, connects, redirects, download): one deadline over the
  whole fetch, not per read, so a server dripping a byte a second is cut off too.
- At most ``SDQ_FETCH_MAX_REDIRECTS`` redirects (301, 302, 303, 307, 308); only HTTP 200/203 is an answer.

Every refusal is a :class:`FetchError` with a message fit for a 422 naming the field. The fetch is blocking (it
runs its own event loop); call it from a worker thread, as the API's submit and validate do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from schemas.settings import Settings
from schemas.version import VERSION

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]

SCHEMES = ("http", "https")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
ANSWERS = frozenset({200, 203})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
METADATA = ipaddress.IPv4Address("169.254.169.254")
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
TUNNELS = (ipaddress.IPv6Network("2002::/16"), ipaddress.IPv6Network("2001::/32"))  # 6to4, Teredo
# Not globally reachable (IANA special-purpose registries) although older Pythons' is_global says so
NOT_GLOBAL = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv6Network("3fff::/20"))
CHUNK = 64 * 1024
MAX_URL_IN_MESSAGE = 200

# Name resolution runs here rather than in the event loop's default executor, which asyncio.run would wait for
# at exit: a resolver that hangs past the deadline must not hold the answer back.
_RESOLVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sdq-resolve")


class FetchError(Exception):
    """The URL was refused or its image could not be fetched; ``str(error)`` says why."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress, allow: Iterable[Network] = ()) -> str | None:
    """Why a connection to ``ip`` is refused (``"a loopback address"``, ...), or None when it may be reached."""
    allow = tuple(allow)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # without a %scope
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, inner = embedded
            if any(ip in net for net in allow if net.version == 6):
                return None
            reason = address_refusal(inner, allow)
            return f"{reason} ({kind} {inner})" if reason else None
    if any(ip in net for net in allow if net.version == ip.version):
        return None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip == METADATA:
        return "the link-local cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in CGNAT:
        return "a shared (CGNAT) address"
    if any(ip in net for net in TUNNELS):
        return "a 6to4/Teredo tunnel address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or any(ip in net for net in NOT_GLOBAL):
        return "not a globally reachable address"
    return None


def host_name_refusal(host: str) -> str | None:
    """Why a host NAME is refused before it is resolved (``localhost`` and the like), or None."""
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return f"refused: {host} is a local host name"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (``getaddrinfo``), in the resolver's order, without repeats."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(str(sockaddr[0]))
        if ip not in found:
            found.append(ip)
    return found


def _short(url: httpx.URL | str) -> str:
    text = str(url)
    return text if len(text) <= MAX_URL_IN_MESSAGE else text[: MAX_URL_IN_MESSAGE - 3] + "..."


def check_url(url: httpx.URL) -> None:
    """Scheme, credentials, host and port of a URL (before any address is looked at)."""
    if url.scheme not in SCHEMES:
        raise FetchError(f"only http and https URLs are fetched, not {url.scheme or 'this scheme'}")
    if url.userinfo:
        raise FetchError("credentials in the URL (user:password@) are not accepted")
    if not url.host:
        raise FetchError("the URL has no host")
    if url.port is not None and not 0 < url.port < 65536:
        raise FetchError(f"the URL's port {url.port} is out of range")


def _seconds(value: float) -> str:
    return f"{value:g} s"


@dataclass(frozen=True)
class ImageFetcher:
    """Fetches one image URL under the rules in the module docstring. ``resolver`` and ``ssl_context`` are for tests."""

    max_bytes: int
    timeout: float = 10.0
    max_redirects: int = 3
    allow: Sequence[Network] = ()
    resolver: Resolver = resolve
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageFetcher:
        return cls(
            max_bytes=settings.max_image_bytes,
            timeout=settings.fetch_timeout,
            max_redirects=settings.fetch_max_redirects,
            allow=tuple(settings.fetch_allow_networks),
        )

    def fetch(self, url: str) -> bytes:
        """The body of the image at ``url``; :class:`FetchError` says why not. Blocking (own event loop)."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise FetchError(f"not a valid URL ({exc})") from exc
        return asyncio.run(self._fetch(parsed))

    async def _fetch(self, url: httpx.URL) -> bytes:
        try:
            async with asyncio.timeout(self.timeout):
                async with httpx.AsyncClient(
                    trust_env=False,  # no proxies from the environment: they would resolve the name again
                    verify=self.ssl_context if self.ssl_context is not None else True,
                    follow_redirects=False,
                    timeout=httpx.Timeout(self.timeout),
                ) as client:
                    for hop in range(self.max_redirects + 1):
                        try:
                            body, location = await self._get(client, url)
                        except FetchError as exc:
                            raise FetchError(f"{exc} (redirected to {_short(url)})" if hop else str(exc)) from exc
                        if body is not None:
                            return body
                        assert location is not None
                        url = location
                    raise FetchError(f"too many redirects (more than {self.max_redirects})")
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise FetchError(f"timed out after {_seconds(self.timeout)}") from exc

    async def _addresses(self, url: httpx.URL) -> tuple[list[IPAddress], bool]:
        """The checked addresses of the URL's host, and whether the host is an IP literal."""
        host = url.raw_host.decode("ascii")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            reason = address_refusal(literal, self.allow)
            if reason:
                raise FetchError(f"refused: {literal} is {reason}")
            return [literal], True
        refusal = host_name_refusal(host)
        if refusal:
            raise FetchError(refusal)
        port = url.port or (443 if url.scheme == "https" else 80)
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(_RESOLVERS, self.resolver, host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"could not resolve {host}") from exc
        if not addresses:
            raise FetchError(f"could not resolve {host}")
        for ip in addresses:
            reason = address_refusal(ip, self.allow)
            if reason:
                raise FetchError(f"refused: {host} resolves to {ip}, {reason}")
        return addresses, False

    async def _get(self, client: httpx.AsyncClient, url: httpx.URL) -> tuple[bytes | None, httpx.URL | None]:
        """One hop: (body, None) for an answer, (None, next URL) for a redirect."""
        check_url(url)
        addresses, literal = await self._addresses(url)
        headers = {
            "Host": url.netloc.decode("ascii"),
            "Accept": "image/*",
            "Accept-Encoding": "identity",
            "User-Agent": f"sdqueue/{VERSION} (image fetch)",
        }
        extensions: dict[str, str] = {}
        if url.scheme == "https" and not literal:
            # TLS SNI and the certificate check use the name, while the connection goes to the checked IP
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        client.cookies.clear()  # nothing one hop's server set travels to the next one
        failure: Exception | None = None
        for ip in addresses:  # only the checked addresses, in the resolver's order
            request = client.build_request("GET", url.copy_with(host=str(ip)), headers=headers, extensions=extensions)
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failure = exc
                continue
            except httpx.TimeoutException:
                raise
            except httpx.TransportError as exc:
                raise FetchError(f"the request to the URL failed ({type(exc).__name__}: {exc})") from exc
            try:
                return await self._read(response, url)
            finally:
                await response.aclose()
        raise FetchError(f"could not connect to {url.host} ({failure})")

    async def _read(self, response: httpx.Response, url: httpx.URL) -> tuple[bytes | None, httpx.URL | None]:
        status = response.status_code
        if status in REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} from the URL without a Location")
            try:
                return None, url.join(location)
            except httpx.InvalidURL as exc:
                raise FetchError(f"HTTP {status} from the URL with a bad Location ({exc})") from exc
        if status not in ANSWERS:
            raise FetchError(f"HTTP {status} from the URL")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"the URL sent the image with Content-Encoding {encoding}; only unencoded images")
        too_large = f"the image at the URL is larger than {self.max_bytes} bytes"
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise FetchError(too_large)
        body = bytearray()
        try:
            async for chunk in response.aiter_raw(CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(too_large)
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as exc:
            raise FetchError(f"the download from the URL failed ({type(exc).__name__}: {exc})") from exc
        return bytes(body), None
