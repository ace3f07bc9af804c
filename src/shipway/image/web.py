"""HTTP for the image code (registries, Debian mirrors): one stack, the ``httpx2`` that
lightkube already brings, behind the few calls Shipway makes.

* Connections are pooled: one client per scheme, shared by the threads of a push, keeps
  its connections open across requests (a push is a few dozen of them).
* The TLS context, whose CA bundle takes tens of milliseconds to load, is made when the
  first HTTPS request is sent: a push to a plain-HTTP registry on loopback never pays for
  it. Its CAs are the system's, or the bundle ``SSL_CERT_FILE`` (``SSL_CERT_DIR``) names;
  ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are read too, as before this module.
* Nothing is added to a request on its own: no ``Authorization`` from a URL's user and
  password and no redirect followed, unless the session is made to (a Debian mirror's);
  the registry client follows redirects by hand, by its own rules. A query given as
  ``params`` is appended to the URL's own, which is sent as it is. Environment proxies
  (``HTTPS_PROXY``, ``NO_PROXY``) apply.
* Every failure is one ``Failure``, whose ``kind`` says what went wrong and whose text
  never quotes a URL (a URL may carry a signature or a password).
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Generator, Iterator
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx2 as httpx

from shipway.errors import ShipwayError

Response = httpx.Response
Kind = Literal["tls", "refused", "unreachable", "timeout", "broken", "other"]
#: Variables naming a CA bundle, in the order they are read.
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class Failure(Exception):
    """A request that got no answer: ``kind`` says why; ``name`` is the exception's type."""

    def __init__(self, kind: Kind, name: str):
        super().__init__(f"{kind} ({name})")
        self.kind: Kind = kind
        self.name = name


class _Header(httpx.Auth):
    """Our ``Authorization`` header, or none: given as the request's ``auth`` so that the
    client adds nothing of its own (no user and password taken from the URL)."""

    def __init__(self, value: str | None):
        self.value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Response, None]:
        if self.value:
            request.headers["Authorization"] = self.value
        yield request


def tls_context() -> ssl.SSLContext | bool:
    """The context HTTPS requests are verified with: a bundle an environment variable
    names, else True (the system's CAs, as ``httpx2`` finds them)."""
    for variable in CA_VARIABLES:
        bundle = os.environ.get(variable)
        if not bundle:
            continue
        try:
            if os.path.isdir(bundle):
                return ssl.create_default_context(capath=bundle)
            return ssl.create_default_context(cafile=bundle)
        except (OSError, ssl.SSLError, ValueError):
            raise ShipwayError(
                f"${variable} names a CA bundle that cannot be read ({bundle[:200]}); "
                "point it at a PEM file of certificates, or unset it"
            ) from None
    return True


class Session:
    """Pooled HTTP clients, one per scheme, each made when first needed."""

    def __init__(
        self, timeout: float, follow_redirects: bool = False, url_credentials: bool = False
    ):
        self.timeout = timeout
        #: Redirects followed by the client (credentials dropped when one leaves the
        #: origin), for a source whose answers carry no secret of ours: a mirror.
        self.follow_redirects = follow_redirects
        #: Whether a URL's user and password are sent (as basic auth, to its origin).
        self.url_credentials = url_credentials
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, url: str) -> httpx.Client:
        https = url[:6].lower() == "https:"
        # A redirect the client follows itself may change the scheme: it needs TLS.
        scheme = "https" if https or self.follow_redirects else "http"
        with self._lock:
            client = self._clients.get(scheme)
            if client is None:
                # Plain HTTP never uses the context: one without CAs verifies nothing,
                # and would fail any handshake rather than trust it.
                verify = tls_context() if scheme == "https" else _no_tls()
                client = httpx.Client(
                    verify=verify,
                    timeout=self.timeout,
                    follow_redirects=self.follow_redirects,
                )
                self._clients[scheme] = client
            return client

    def send(
        self,
        method: str,
        url: str,
        *,
        authorization: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Response:
        """The answer's status and headers; its body is read with ``chunks`` (or not at
        all), and the caller closes it."""
        try:
            client = self._client(url)
            target = _with_params(url, params) if params else url
            request = client.build_request(method, target, headers=headers, content=content)
            own = authorization is None and self.url_credentials
            auth = httpx.USE_CLIENT_DEFAULT if own else _Header(authorization)
            return client.send(request, auth=auth, stream=True)
        except ShipwayError:
            raise
        except Exception as exc:  # httpx2 raises more than HTTPError (InvalidURL…)
            raise _failure(exc) from None

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def chunks(response: Response, size: int) -> Iterator[bytes]:
    """The answer's body, ``size`` bytes at a time; a connection that breaks off is a
    ``Failure`` of kind ``broken``."""
    try:
        yield from response.iter_bytes(size)
    except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
        raise Failure("broken", type(exc).__name__) from None


def bounded(response: Response, limit: int) -> bytes | None:
    """The answer's body if it has at most ``limit`` bytes (None otherwise); the answer
    is closed either way."""
    body = bytearray()
    try:
        for chunk in chunks(response, 64 << 10):
            body += chunk
            if len(body) > limit:
                return None
    finally:
        response.close()
    return bytes(body)


def _with_params(url: str, params: dict[str, str]) -> str:
    """``params`` appended to ``url``'s query, which is kept byte for byte: an upload
    location's state is the registry's to encode (httpx2 would replace the query, and
    re-encoding it could turn a ``+`` into a space)."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit(parts._replace(query=query))


def _no_tls() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _failure(exc: BaseException) -> Failure:
    name = type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return Failure("tls", name)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return Failure("timeout", name)
    if isinstance(exc, httpx.ConnectError):
        return Failure("refused" if "refused" in str(exc).lower() else "unreachable", name)
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError | OSError):
        return Failure("other", name)
    if isinstance(exc, ValueError | TypeError | UnicodeError):
        return Failure("other", name)  # a header or URL httpx2 cannot encode
    raise exc
