"""A client for the OCI distribution API: what pushing and pulling images needs.

Blobs are checked with HEAD before any upload, mounted from another repository of the
same registry when possible, and otherwise uploaded in bounded chunks streamed from disk.
Authentication answers the registry's challenge: HTTP basic, or the bearer-token flow
Docker Hub uses. Plain HTTP is used only for loopback registries or when asked.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from shipway.errors import ShipwayError, TemporaryError
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


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
        self.session = requests.Session()
        self._tokens: dict[str, str] = {}
        self._basic = False

    # -- blobs ---------------------------------------------------------------------
    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self._call("HEAD", f"/v2/{repo}/blobs/{digest}", repo)
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
            return None
        self._expect(response, 202, f"start an upload to {repo}")
        return urljoin(self.base, response.headers["Location"])

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
            self._expect(started, 202, f"start an upload to {repo}")
            location = urljoin(self.base, started.headers["Location"])
        offset = 0
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                headers = {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                    "Content-Length": str(len(chunk)),
                }
                sent = self._call("PATCH", location, repo, data=chunk, headers=headers)
                self._expect(sent, 202, f"upload {digest[:19]} to {repo}")
                location = urljoin(self.base, sent.headers["Location"])
                offset += len(chunk)
                if progress:
                    progress(len(chunk))
        done = self._call(
            "PUT", location, repo, params={"digest": digest}, headers={"Content-Length": "0"}
        )
        self._expect(done, 201, f"finish the upload of {digest[:19]} to {repo}")

    def download_blob(
        self, repo: str, digest: str, out: BinaryIO, progress: Progress | None = None
    ) -> None:
        response = self._call("GET", f"/v2/{repo}/blobs/{digest}", repo, stream=True)
        self._expect(response, 200, f"download {digest[:19]} from {repo}")
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)
            if progress:
                progress(len(chunk))

    # -- manifests -----------------------------------------------------------------
    def get_manifest(self, repo: str, ref: str, accept: list[str]) -> tuple[bytes, str]:
        response = self._call(
            "GET", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": ", ".join(accept)}
        )
        if response.status_code == 404:
            raise ShipwayError(
                f"{self.host}/{repo}:{ref} does not exist in the registry; "
                "check the image name and tag (or push it first)"
            )
        self._expect(response, 200, f"read the manifest of {repo}:{ref}")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        return response.content, media_type

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> None:
        response = self._call(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo,
            data=body,
            headers={"Content-Type": media_type},
        )
        self._expect(response, 201, f"push the manifest of {repo}:{ref}")

    # -- tags ----------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[str]:
        """Every tag of ``repo`` (``GET /v2/<name>/tags/list``, following the ``Link``
        header page by page), each checked against the OCI tag grammar."""
        tags: list[str] = []
        url = f"{self.base}/v2/{repo}/tags/list?n={TAGS_PAGE}"
        for _ in range(TAGS_PAGES):
            response = self._call("GET", url, repo, actions="pull", stream=True)
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
            url = self._same_origin(urljoin(url, link[1]), repo)
        raise ShipwayError(
            f"registry {self.host}: {repo} has more than {TAGS_PAGES * TAGS_PAGE} tags "
            "or its pages never end; point Shipway at a repository with fewer tags"
        )

    def _tag_page(self, response: requests.Response, repo: str) -> list[str]:
        body = response.raw.read(TAGS_PAGE_BYTES + 1, decode_content=True)
        response.close()
        invalid = ShipwayError(
            f"registry {self.host}: the tag list of {repo} is not a valid answer "
            "(a JSON object whose 'tags' are OCI tags); check the registry"
        )
        if len(body) > TAGS_PAGE_BYTES:
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

    def _same_origin(self, url: str, repo: str) -> str:
        """A next page on this registry only: never send its token elsewhere."""
        here, there = urlsplit(self.base), urlsplit(url)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            raise ShipwayError(
                f"registry {self.host}: the next page of {repo}'s tags points to "
                f"another host ({there.netloc or 'none'}); check the registry"
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
    ) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        scopes = [f"repository:{repo}:{actions}"]
        if extra_scope:
            scopes.append(f"repository:{extra_scope}:pull")
        response = self._send(method, url, scopes, **kwargs)
        if response.status_code == 401:
            self._authenticate(response, scopes)
            response = self._send(method, url, scopes, **kwargs)
            if response.status_code == 401:
                raise self._refused()
        if response.status_code == 403:
            raise ShipwayError(
                f"registry {self.host} forbids {method} on {repo} for "
                f"{self.credentials or 'anonymous users'}; check the account's "
                "permissions"
            )
        return response

    def _send(self, method: str, url: str, scopes: list[str], **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        token = self._tokens.get(" ".join(scopes))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = None
        if self._basic and self.credentials:
            auth = (self.credentials.username, self.credentials.password)
        try:
            return self.session.request(
                method,
                url,
                headers=headers,
                auth=auth,
                timeout=self.timeout,
                allow_redirects=True,
                **kwargs,
            )
        except requests.exceptions.SSLError:
            raise ShipwayError(
                f"registry {self.host}: TLS failed; if it serves plain HTTP, pass "
                "--insecure-registry (or point SSL_CERT_FILE at its CA)"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else "unreachable"
            raise TemporaryError(
                f"cannot reach registry {self.host} ({reason}); check that it "
                "is running and the address is right"
            ) from None
        except requests.exceptions.Timeout:
            raise TemporaryError(
                f"registry {self.host} did not answer in {self.timeout:.0f} s; try again"
            ) from None

    def _authenticate(self, response: requests.Response, scopes: list[str]) -> None:
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
        query: list[tuple[str, str]] = [("service", params.get("service", ""))]
        query += [("scope", scope) for scope in scopes]
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        try:
            reply = self.session.get(params["realm"], params=query, auth=auth, timeout=self.timeout)
        except (KeyError, requests.exceptions.RequestException):
            raise TemporaryError(
                f"registry {self.host}: its token service could not be reached; try again"
            ) from None
        if reply.status_code in (401, 403):
            raise self._refused()
        self._expect(reply, 200, "get a token")
        body = reply.json()
        self._tokens[" ".join(scopes)] = body.get("token") or body.get("access_token", "")

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

    def _expect(self, response: requests.Response, status: int, what: str) -> None:
        if response.status_code == status:
            return
        detail = _error_detail(response)
        error = TemporaryError if response.status_code >= 500 else ShipwayError
        raise error(
            f"registry {self.host}: could not {what} (HTTP {response.status_code}"
            f"{': ' + detail if detail else ''})"
        )


def _error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors", [])
        return " ".join(str(e.get("message", e.get("code", ""))) for e in errors)[:200]
    except (ValueError, AttributeError):
        return ""
