"""A registry on 127.0.0.1 that answers what a test says: for the answers a real registry
would never give (hostile digests, pages, headers, redirects, token services).

``Registry(answer)`` answers every method from ``answer(path, query)``;
``Registry(handle=...)`` gives the whole request (method, ``Authorization``, body) to the
test. Every request is recorded, so a test can say which server got which credentials.
``address`` binds another loopback address (127.0.0.2 stands for another host) and
``tls`` serves HTTPS with a certificate made here, for 127.0.0.1-3 and localhost.
"""

from __future__ import annotations

import atexit
import datetime
import functools
import ipaddress
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from shipway.image.auth import Credentials
from shipway.image.registry import RegistryClient

Reply = tuple[int, dict[str, str], bytes]
#: path and query → (status, headers, body); the requests made, in order.
Answer = Callable[[str, dict[str, list[str]]], Reply]


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: bytes


#: The whole request → (status, headers, body).
Handler = Callable[[Request], Reply]


class Registry:
    def __init__(
        self,
        answer: Answer | None = None,
        *,
        handle: Handler | None = None,
        address: str = "127.0.0.1",
        tls: bool = False,
    ):
        if handle is None:
            assert answer is not None, "a registry needs an answer or a handler"
            handle = functools.partial(_by_path, answer)
        self.handle = handle
        #: The path and query of every request, in order.
        self.requests: list[str] = []
        #: Every request, whole.
        self.received: list[Request] = []
        self.server = ThreadingHTTPServer((address, 0), _handler_class(self))
        if tls:
            self.server.socket = _server_context().wrap_socket(self.server.socket, server_side=True)
        self.host = f"{address}:{self.server.server_address[1]}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        serving = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        serving.start()

    def client(self, credentials: Credentials | None = None) -> RegistryClient:
        client = RegistryClient(self.host, self.host, credentials, timeout=5)
        if self.url.startswith("https"):
            # Shipway speaks plain HTTP to loopback: this one stands for a remote registry.
            client.base = self.url
        return client

    def authorizations(self) -> list[str | None]:
        """The ``Authorization`` header of every request, in order (None: none sent)."""
        return [request.authorization for request in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _by_path(answer: Answer, request: Request) -> Reply:
    return answer(request.path, request.query)


def _handler_class(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                self.headers.get("Authorization"),
                self.rfile.read(length),
            )
            registry.requests.append(self.path)
            registry.received.append(request)
            status, headers, body = registry.handle(request)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def self_signed(
    key: CertificateIssuerPrivateKeyTypes, common_name: str, names: list[x509.GeneralName]
) -> x509.Certificate:
    """A CA certificate for ``key``, valid a day either side of now, for ``names``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256())


@functools.cache
def _files() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="shipway-fake-registry-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(f"127.0.0.{n}")) for n in (1, 2, 3)]
    cert = self_signed(key, "fake registry", names)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder


def certificate_authority() -> Path:
    """The certificate the TLS servers present, self-signed: what a client must trust."""
    return _files() / "cert.pem"


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(_files() / "cert.pem", _files() / "key.pem")
    return context


class Serve(Protocol):
    def __call__(
        self,
        answer: Answer | None = None,
        *,
        handle: Handler | None = None,
        address: str = "127.0.0.1",
        tls: bool = False,
    ) -> Registry: ...


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    """Starts registries; once one serves TLS, requests trust its certificate only."""
    started: list[Registry] = []

    def start(
        answer: Answer | None = None,
        *,
        handle: Handler | None = None,
        address: str = "127.0.0.1",
        tls: bool = False,
    ) -> Registry:
        if tls:
            monkeypatch.setenv("SSL_CERT_FILE", str(certificate_authority()))
        started.append(Registry(answer, handle=handle, address=address, tls=tls))
        return started[-1]

    yield start
    for registry in started:
        registry.stop()
