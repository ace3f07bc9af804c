"""A client for the OCI distribution API: what pushing and pulling images needs.

Blobs are checked with HEAD before any upload, mounted from another repository of the
same registry when possible, and otherwise uploaded: a small one whole with the request
that completes the upload, a larger one in bounded chunks streamed from disk. Requests go
through one pooled ``web.Session``, which several threads may share.
Authentication answers the registry's challenge: HTTP basic, or the bearer-token flow
Docker Hub uses. Plain HTTP is used only for loopback registries or when asked.

A registry's answers are untrusted, and so are the URLs in them; where secrets may go is
decided in one place (``_follow``, every request's path):

- the ``Authorization`` header (the user's basic credentials, or a bearer token) goes
  only to the origin (scheme, host, port) it was meant for: the registry itself, or
  the token service for the basic credentials that get a token;
- a token service may be on any host over HTTPS, as Docker's client allows (Docker Hub's
  is ``auth.docker.io``); over plain HTTP only on the registry's own host and only when
  the registry itself is plain HTTP (loopback, or ``--insecure-registry``): never a
  downgrade from HTTPS, as go-containerregistry refuses it too;
- redirects are followed by hand, for GET and HEAD only (blob downloads go to a CDN or
  object storage), never from HTTPS to plain HTTP, at most ``MAX_REDIRECTS`` in a row,
  and with no ``Authorization`` once they leave the origin;
- an upload location or a next page on another origin is refused: the image's data and
  the token would go with it;
- messages name a foreign URL by its host and port only, never its user, path or query.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin, urlsplit

from shipway.errors import ShipwayError, TemporaryError
from shipway.image import web
from shipway.image.auth import Credentials
from shipway.image.reference import TAG

CHUNK = 8 << 20
Progress = Callable[[int], None]
CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
#: Tag listing: tags asked per page, pages followed, bytes read per page. A registry's
#: answer is untrusted; Docker Hub's busiest official images have a few thousand tags.
TAGS_PAGE = 1000
TAGS_PAGES = 50
TAGS_PAGE_BYTES = 4 << 20
NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')
#: Redirects followed for one request: a blob download is sent on once or twice (to a
#: CDN, to object storage); more is a loop.
MAX_REDIRECTS = 5
#: Bytes read of a manifest or index: distribution refuses to store one past 4 MiB.
MANIFEST_BYTES = 4 << 20
#: Bytes read of an error's answer, for the message it carries.
ERROR_BYTES = 64 << 10
#: Bytes read of a token service's answer: tokens are JWTs of a few kilobytes.
TOKEN_BYTES = 1 << 20
#: A bearer token as RFC 6750 has it (token68): nothing that could end a header line.
TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: The error codes of a registry that lacks a blob a manifest names.
BLOB_UNKNOWN = frozenset({"BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"})
#: Scheme, host and port: what decides where a secret may go.
Origin = tuple[str, str, int]


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin(url: str) -> Origin | None:
    """``url``'s scheme, host and port; None when it is not an HTTP(S) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def realm_allowed(realm: str, registry: str) -> bool:
    """Whether the token service at ``realm`` may get the credentials of the registry at
    ``registry`` (a base URL): over HTTPS anywhere; over plain HTTP only on the host of
    a registry that is itself plain HTTP."""
    there, here = origin(realm), origin(registry)
    if there is None or here is None:
        return False
    return there[0] == "https" or (here[0] == "http" and there[1] == here[1])


def where(url: str) -> str:
    """A URL for a message: its host and port only (no user, password, path or query)."""
    found = origin(url)
    if found is None:
        return "an address that is not HTTP(S)"
    host = f"[{found[1]}]" if ":" in found[1] else found[1]
    shown = f"{host}:{found[2]}" if urlsplit(url).port else host
    return shown if shown.isprintable() and " " not in shown else "an unprintable host"


class RegistryClient:
    def __init__(
        self,
        host: str,
        api_host: str,
        credentials: Credentials | None,
        insecure: bool = False,
        timeout: float = 60,
    ):
        self.host = host
        self.credentials = credentials
        plain = insecure or is_loopback(api_host)
        self.base = f"{'http' if plain else 'https'}://{api_host}"
        self.timeout = timeout
        self.session = web.Session(timeout)
        self._tokens: dict[str, str] = {}
        self._basic = False
        #: One answer to a challenge at a time (threads share a client).
        self._login = threading.Lock()

    # -- blobs ---------------------------------------------------------------------
    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self._call("HEAD", f"/v2/{repo}/blobs/{digest}", repo)
        web.bounded(response, ERROR_BYTES)
        return response.status_code == 200

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> str | None:
        """Mount from another repository; returns an upload URL when the registry won't."""
        response = self._call(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            repo,
            params={"mount": digest, "from": source_repo},
            extra_scope=source_repo,
        )
        if response.status_code == 201:
            web.bounded(response, ERROR_BYTES)
            return None
        self._finish(response, 202, f"start an upload to {repo}")
        return self._upload_location(response, repo)

    def upload_blob(
        self,
        repo: str,
        digest: str,
        path: Path,
        progress: Progress | None = None,
        location: str | None = None,
    ) -> None:
        if location is None:
            started = self._call("POST", f"/v2/{repo}/blobs/uploads/", repo)
            self._finish(started, 202, f"start an upload to {repo}")
            location = self._upload_location(started, repo)
        with path.open("rb") as handle:
            size, offset = os.fstat(handle.fileno()).st_size, 0
            # Each chunk but the last is a PATCH; the last goes with the PUT that ends
            # the upload (the whole blob, for one that fits in a chunk: one request).
            while True:
                chunk = handle.read(CHUNK)
                if not chunk or offset + len(chunk) >= size:
                    last = chunk
                    break
                headers = {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                    "Content-Length": str(len(chunk)),
                }
                sent = self._call("PATCH", location, repo, content=chunk, headers=headers)
                self._finish(sent, 202, f"upload {digest[:19]} to {repo}")
                location = self._upload_location(sent, repo)
                offset += len(chunk)
                if progress:
                    progress(len(chunk))
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(last))}
        done = self._call(
            "PUT", location, repo, params={"digest": digest}, headers=headers, content=last
        )
        self._finish(done, 201, f"finish the upload of {digest[:19]} to {repo}")
        if progress and last:
            progress(len(last))

    def download_blob(
        self,
        repo: str,
        digest: str,
        out: BinaryIO,
        progress: Progress | None = None,
        size: int | None = None,
    ) -> None:
        """Write the blob to ``out``; ``size``, from its descriptor, bounds what is
        accepted (a registry that keeps sending must not fill the disk)."""
        response = self._call("GET", f"/v2/{repo}/blobs/{digest}", repo)
        self._expect(response, 200, f"download {digest[:19]} from {repo}")
        received = 0
        try:
            for chunk in web.chunks(response, CHUNK):
                received += len(chunk)
                if size is not None and received > size:
                    raise ShipwayError(
                        f"registry {self.host}: {digest[:19]} is larger than the {size} "
                        "bytes its descriptor states; refused"
                    )
                out.write(chunk)
                if progress:
                    progress(len(chunk))
        except web.Failure:
            raise TemporaryError(
                f"registry {self.host}: the download of {digest[:19]} broke off; try again"
            ) from None
        finally:
            response.close()

    # -- manifests -----------------------------------------------------------------
    def get_manifest(self, repo: str, ref: str, accept: list[str]) -> tuple[bytes, str]:
        response = self._call(
            "GET",
            f"/v2/{repo}/manifests/{ref}",
            repo,
            headers={"Accept": ", ".join(accept)},
        )
        if response.status_code == 404:
            response.close()
            raise ShipwayError(
                f"{self.host}/{repo}:{ref} does not exist in the registry; "
                "check the image name and tag (or push it first)"
            )
        self._expect(response, 200, f"read the manifest of {repo}:{ref}")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        body = self._bounded(response, MANIFEST_BYTES)
        if body is None:
            raise ShipwayError(
                f"registry {self.host}: the manifest of {repo}:{ref} is larger than "
                f"{MANIFEST_BYTES >> 20} MiB; check the image"
            )
        return body, media_type

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> None:
        response = self._call(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo,
            content=body,
            headers={"Content-Type": media_type},
        )
        self._finish(response, 201, f"push the manifest of {repo}:{ref}")

    # -- tags ----------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[str]:
        """Every tag of ``repo`` (``GET /v2/<name>/tags/list``, following the ``Link``
        header page by page), each checked against the OCI tag grammar."""
        tags: list[str] = []
        url = f"{self.base}/v2/{repo}/tags/list?n={TAGS_PAGE}"
        for _ in range(TAGS_PAGES):
            response = self._call("GET", url, repo, actions="pull")
            if response.status_code in (404, 429):
                response.close()
            if response.status_code == 404:
                raise ShipwayError(
                    f"{self.host}/{repo} does not exist in the registry; check the "
                    "repository name (or push an image to it first)"
                )
            if response.status_code == 429:
                raise TemporaryError(
                    f"registry {self.host} limits requests now (HTTP 429); try again later"
                )
            self._expect(response, 200, f"list the tags of {repo}")
            tags += self._tag_page(response, repo)
            link = NEXT_LINK.search(response.headers.get("Link", ""))
            if link is None:
                return tags
            url = self._own(urljoin(url, link[1]), f"the next page of {repo}'s tags")
        raise ShipwayError(
            f"registry {self.host}: {repo} has more than {TAGS_PAGES * TAGS_PAGE} tags "
            "or its pages never end; point Shipway at a repository with fewer tags"
        )

    def _tag_page(self, response: web.Response, repo: str) -> list[str]:
        body = self._bounded(response, TAGS_PAGE_BYTES)
        invalid = ShipwayError(
            f"registry {self.host}: the tag list of {repo} is not a valid answer "
            "(a JSON object whose 'tags' are OCI tags); check the registry"
        )
        if body is None:
            raise invalid
        try:
            tags = json.loads(body).get("tags") or []
        except (ValueError, AttributeError):
            raise invalid from None
        if not isinstance(tags, list) or not all(
            isinstance(t, str) and TAG.fullmatch(t) for t in tags
        ):
            raise invalid
        return tags

    # -- where requests may go -------------------------------------------------------
    def _upload_location(self, response: web.Response, repo: str) -> str:
        location = response.headers.get("Location")
        if not location:
            raise ShipwayError(
                f"registry {self.host}: its answer to an upload to {repo} has no "
                "Location; check the registry"
            )
        here = str(response.url)
        return self._own(urljoin(here, location), f"the upload location for {repo}")

    def _own(self, url: str, what: str) -> str:
        """``url`` if it is on this registry's origin: its token and the image's data go
        with the request."""
        if origin(url) != origin(self.base):
            raise ShipwayError(
                f"registry {self.host}: {what} points to another host ({where(url)}); "
                "Shipway sends credentials and image data only to the registry itself"
            )
        return url

    # -- plumbing ------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        repo: str,
        extra_scope: str | None = None,
        actions: str = "pull,push",
        **kwargs: Any,
    ) -> web.Response:
        """The answer to ``method`` on ``path`` (a path on the registry, or a URL on its
        origin), the registry's challenge answered; its body is unread: the caller reads
        it (``_expect``, ``_finish``, ``web.bounded``) or closes it."""
        url = self._own(path, f"{method} on {repo}") if "://" in path else self.base + path
        scopes = [f"repository:{repo}:{actions}"]
        if extra_scope:
            scopes.append(f"repository:{extra_scope}:pull")
        sent = self._authorization(scopes)
        response = self._follow(method, url, sent, self.base, **kwargs)
        if self._challenged(response):
            web.bounded(response, ERROR_BYTES)
            with self._login:
                # Another thread may have answered the same challenge meanwhile: then its
                # answer is tried, not taken for a refusal of the credentials.
                if self._authorization(scopes) == sent:
                    self._authenticate(response, scopes)
            response = self._follow(method, url, self._authorization(scopes), self.base, **kwargs)
            if self._challenged(response):
                response.close()
                raise self._refused()
        if response.status_code == 403:
            response.close()
            raise ShipwayError(
                f"registry {self.host} forbids {method} on {repo} for "
                f"{self.credentials or 'anonymous users'}; check the account's "
                "permissions"
            )
        return response

    def _challenged(self, response: web.Response) -> bool:
        """A 401 from the registry itself: a 401 from where it redirected is no challenge
        to answer with its credentials."""
        return response.status_code == 401 and origin(str(response.url)) == origin(self.base)

    def _authorization(self, scopes: list[str]) -> str | None:
        token = self._tokens.get(" ".join(scopes))
        if token:
            return f"Bearer {token}"
        if self._basic and self.credentials:
            return self.credentials.authorization()
        return None

    def _follow(
        self, method: str, url: str, authorization: str | None, owner: str, **kwargs: Any
    ) -> web.Response:
        """``url``'s answer, redirects followed by hand (see the module's rules):
        ``authorization`` goes only to the origin of ``owner``, the URL it is meant for."""
        trusted = origin(owner)
        headers = dict(kwargs.pop("headers", {}))
        for _ in range(MAX_REDIRECTS + 1):
            mine = authorization if origin(url) == trusted else None
            response = self._request(method, url, authorization=mine, headers=headers, **kwargs)
            if method not in ("GET", "HEAD") or not response.has_redirect_location:
                return response
            response.close()
            url = self._redirect(url, urljoin(url, response.headers["Location"]))
            kwargs.pop("params", None)  # the Location carries the query from here on
        raise ShipwayError(
            f"registry {self.host}: more than {MAX_REDIRECTS} redirects for one request "
            f"(last to {where(url)}); check the registry"
        )

    def _redirect(self, here: str, there: str) -> str:
        to, start = origin(there), origin(here)
        if to is None or (start is not None and start[0] == "https" and to[0] == "http"):
            raise ShipwayError(
                f"registry {self.host}: a redirect from {where(here)} to {where(there)} "
                f"{'is not HTTP(S)' if to is None else 'would leave HTTPS'}; Shipway does "
                "not follow it"
            )
        return there

    def _request(self, method: str, url: str, **kwargs: Any) -> web.Response:
        name = f"registry {self.host}"
        if origin(url) != origin(self.base):
            name = f"{where(url)} (where registry {self.host} sent Shipway)"
        try:
            return self.session.send(method, url, **kwargs)
        except web.Failure as failure:
            # Its text never quotes the URL: a URL may carry a signature or a password.
            if failure.kind == "tls":
                raise ShipwayError(
                    f"{name}: TLS failed; if it serves plain HTTP, pass "
                    "--insecure-registry (or point SSL_CERT_FILE at its CA)"
                ) from None
            if failure.kind in ("refused", "unreachable"):
                reason = "connection refused" if failure.kind == "refused" else "unreachable"
                raise TemporaryError(
                    f"cannot reach {name} ({reason}); check that it is running and the "
                    "address is right"
                ) from None
            if failure.kind == "timeout":
                raise TemporaryError(
                    f"{name} did not answer in {self.timeout:.0f} s; try again"
                ) from None
            raise ShipwayError(
                f"{name}: the request failed ({failure.name}); check the registry"
            ) from None

    def _authenticate(self, response: web.Response, scopes: list[str]) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if not self.credentials or self._basic:
                raise self._refused()
            self._basic = True
            return
        if scheme != "bearer":
            raise ShipwayError(
                f"registry {self.host} asks for unsupported authentication '{scheme or 'none'}'"
            )
        params = dict(CHALLENGE.findall(challenge))
        self._tokens[" ".join(scopes)] = self._token(params, scopes)

    def _token(self, params: dict[str, str], scopes: list[str]) -> str:
        """A bearer token from the token service the challenge names (its ``realm``)."""
        realm = params.get("realm", "")
        if origin(realm) is None:
            raise ShipwayError(
                f"registry {self.host}: its challenge names no HTTP(S) token service "
                "(realm); check the registry"
            )
        if not realm_allowed(realm, self.base):
            raise ShipwayError(
                f"registry {self.host}: its token service ({where(realm)}) is not on HTTPS; "
                "Shipway sends credentials over plain HTTP only to a plain-HTTP registry's "
                "own host"
            )
        query = urlencode([("service", params.get("service", "")), *(("scope", s) for s in scopes)])
        url = f"{realm}{'&' if urlsplit(realm).query else '?'}{query}"
        basic = self.credentials.authorization() if self.credentials else None
        reply = self._follow("GET", url, basic, realm)
        if reply.status_code in (401, 403):
            reply.close()
            raise self._refused()
        self._expect(reply, 200, "get a token")
        body = self._bounded(reply, TOKEN_BYTES)
        try:
            answer = json.loads(body or b"")
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise ShipwayError(
                f"registry {self.host}: its token service sent no valid token; check the registry"
            )
        return token

    def _bounded(self, response: web.Response, limit: int) -> bytes | None:
        """``response``'s body if it has at most ``limit`` bytes (None otherwise)."""
        try:
            return web.bounded(response, limit)
        except web.Failure:
            raise TemporaryError(f"registry {self.host}: an answer broke off; try again") from None

    def _refused(self) -> ShipwayError:
        if self.credentials is None:
            return ShipwayError(
                f"registry {self.host} needs credentials; set "
                "SHIPWAY_REGISTRY_USERNAME/SHIPWAY_REGISTRY_PASSWORD or run "
                "docker login"
            )
        return ShipwayError(
            f"registry {self.host} refused the credentials of user "
            f"'{self.credentials}'; check the username and password"
        )

    def _finish(self, response: web.Response, status: int, what: str) -> None:
        """``_expect``, then the (small) body read and the answer closed: its connection
        goes back to the pool."""
        self._expect(response, status, what)
        self._bounded(response, ERROR_BYTES)

    def _expect(self, response: web.Response, status: int, what: str) -> None:
        if response.status_code == status:
            return
        body = self._bounded(response, ERROR_BYTES)
        detail = _error_detail(body)
        error: type[ShipwayError] = ShipwayError
        if response.status_code >= 500:
            error = TemporaryError
        elif BLOB_UNKNOWN & _error_codes(body):
            error = BlobUnknown
        raise error(
            f"registry {self.host}: could not {what} (HTTP {response.status_code}"
            f"{': ' + detail if detail else ''})"
        )


class BlobUnknown(ShipwayError):
    """The registry refused a manifest (or a request) naming a blob it does not have."""


def _errors(body: bytes | None) -> list[dict[str, Any]]:
    try:
        errors = json.loads(body or b"").get("errors", [])
    except (ValueError, AttributeError, RecursionError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _error_codes(body: bytes | None) -> set[str]:
    return {str(e.get("code")) for e in _errors(body)}


def _error_detail(body: bytes | None) -> str:
    """The messages of a distribution error answer, on one line."""
    text = " ".join(str(e.get("message", e.get("code", ""))) for e in _errors(body))
    return " ".join(text.split())[:200]
