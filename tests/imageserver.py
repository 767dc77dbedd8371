"""A real HTTP(S) server in a thread, serving images and misbehaving on purpose, for the URL fetch tests.

Routes: ``/image.png`` (the ``png`` bytes), ``/text`` (HTML, not an image), ``/missing`` (404), ``/big?n=N`` (N bytes
with an honest Content-Length), ``/chunked?n=N`` (N bytes, chunked, no Content-Length), ``/close?n=N`` (N bytes,
no Content-Length, ended by closing), ``/lying?n=N&claim=C`` (claims C bytes, sends N), ``/gzip`` (Content-Encoding
gzip), ``/drip`` (a byte every 0.1 s, for up to 20 s), ``/stall`` (no answer for up to 20 s), ``/redirect?to=URL``
(302), ``/loop?n=K`` (redirects to itself forever), ``/host`` (the PNG; the Host header is recorded like every
request's).
"""

from __future__ import annotations

import datetime
import gzip
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png_bytes(width: int = 40, height: int = 24, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Seen:
    path: str
    host: str | None


@dataclass
class ImageServer:
    host: str
    port: int
    scheme: str
    png: bytes
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    def url(self, path: str, host: str | None = None) -> str:
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{self.scheme}://{name}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "image/png", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        state.seen.append(Seen(parts.path, self.headers.get("Host")))
        size = int(query.get("n", "0"))
        with suppress(OSError):  # the client hung up (timeouts, limits): nothing to do
            self._route(parts.path, query, size, state)

    def _route(self, path: str, query: dict[str, str], size: int, state: ImageServer) -> None:
        if path in ("/image.png", "/host"):
            self._send(200, state.png)
        elif path == "/text":
            self._send(200, b"<html><body>not an image</body></html>", "text/html")
        elif path == "/missing":
            self._send(404, b"no such image", "text/plain")
        elif path == "/big":
            self._send(200, b"\0" * size)
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            piece = b"\0" * 4096
            sent = 0
            while sent < size:
                chunk = piece[: size - sent]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"\0" * size)
            self.close_connection = True
        elif path == "/lying":
            self.send_response(200)
            self.send_header("Content-Length", query["claim"])
            self.end_headers()
            self.wfile.write(b"\0" * size)
            self.close_connection = True
        elif path == "/gzip":
            self._send(200, gzip.compress(state.png), Content_Encoding="gzip")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/stall":
            time.sleep(20)
        elif path == "/redirect":
            self._send(302, b"", "text/plain", Location=query["to"])
        elif path == "/loop":
            self._send(302, b"", "text/plain", Location=f"/loop?n={int(query.get('n', '0')) + 1}")
        else:
            self._send(404, b"", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ImageServer


class _Server6(_Server):
    address_family = socket.AF_INET6


@contextmanager
def serve(
    host: str = "127.0.0.1", png: bytes | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[ImageServer]:
    """An image server on ``host`` (a free port), running until the block ends."""
    server_class = _Server6 if ":" in host else _Server
    server = server_class((host, 0), _Handler)
    state = ImageServer(host, server.server_address[1], "https" if tls else "http", png or png_bytes())
    server.state = state
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: state.sni.append(name)  # type: ignore[assignment]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@dataclass
class Certificates:
    """A throwaway CA and a server certificate it signed for ``name``."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def certificates(folder: Path, name: str) -> Certificates:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sdqueue test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return Certificates(server, client)


def network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr)
