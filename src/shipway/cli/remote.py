"""The CLI's side of remote mode: the saved login, and a small client of the server's
API that turns its one-line JSON errors back into Shipway's errors.

The login (server URL, token, email) is kept in ``$XDG_CONFIG_HOME/shipway/login.json``
(default ``~/.config``), mode 0600. ``SHIPWAY_URL`` and ``SHIPWAY_TOKEN`` override it, for
CI jobs that should not write a file.
"""

from __future__ import annotations

import http.client
import json as _json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from shipway import errors
from shipway.errors import ShipwayError, TemporaryError

API = "/api/v1"
_ERRORS: dict[str, type[ShipwayError]] = {
    "not-found": errors.NotFound,
    "unauthenticated": errors.Unauthenticated,
    "denied": errors.Denied,
    "conflict": errors.Conflict,
    "busy": errors.Busy,
    "unavailable": TemporaryError,
}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "shipway"


def login_file() -> Path:
    return config_dir() / "login.json"


@dataclass(frozen=True)
class Login:
    url: str
    token: str
    email: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def check_url(url: str) -> str:
    """A server URL: http(s), a host, no credentials, query or fragment in it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ShipwayError(f"'{url[:100]}' is not a server URL; write https://HOST[:PORT]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ShipwayError("the server URL must not carry credentials, a query or a fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def saved() -> Login | None:
    """The login in use: the environment's, else the saved one, else None (direct mode)."""
    url, token = os.environ.get("SHIPWAY_URL"), os.environ.get("SHIPWAY_TOKEN")
    if url and token:
        return Login(check_url(url), token)
    try:
        data = _json.loads(login_file().read_text())
        return Login(check_url(data["url"]), str(data["token"]), str(data.get("email", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShipwayError(
            f"{login_file()}: unreadable login ({type(exc).__name__}); run shipway login again"
        ) from None


def required() -> Login:
    """The login in use, for the verbs that only exist on a server."""
    login = saved()
    if login is None:
        raise ShipwayError("not logged in: shipway login URL")
    return login


def save(login: Login) -> None:
    path = login_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: set it
        _json.dump(asdict(login), file)


def forget() -> bool:
    try:
        login_file().unlink()
    except FileNotFoundError:
        return False
    return True


class Remote:
    """Requests to one server with one token. Every answer that is not a success
    becomes the ``ShipwayError`` its ``kind`` names, with the server's one-line message.

    Plain ``http.client``: a remote read verb is one request, and importing an HTTP
    stack (~0.15 s) would be most of its time."""

    def __init__(self, login: Login, timeout: float = 600):
        self.login = login
        self.timeout = timeout
        parts = urlsplit(login.url)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path + API

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            import ssl

            return http.client.HTTPSConnection(
                self._netloc, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._netloc, timeout=self.timeout)

    def _unreachable(self, what: str, exc: Exception) -> TemporaryError:
        return TemporaryError(f"{what} the server at {self.login.url}: {type(exc).__name__}")

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        url = self._base + quote(path)
        if params:
            url += "?" + urlencode({k: _query_value(v) for k, v in params.items()})
        headers = {"Accept": "application/json"}
        if self.login.token:  # none: the routes that sign in (login, accepting an invite)
            headers["Authorization"] = f"Bearer {self.login.token}"
        headers |= extra or {}
        if json_body is not None:
            body = _json.dumps(json_body).encode()
        if body is not None:
            headers["Content-Type"] = content_type
        connection = self._connection()
        try:
            connection.request(method, url, body=body, headers=headers)
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self._unreachable("cannot reach", exc) from None

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        connection, response = self._send(method, path, json, params, content, content_type)
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable("lost", exc) from None
        finally:
            connection.close()
        if response.status >= 400:
            raise error_of(response.status, data)
        return _json.loads(data) if data else None

    def stream(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Iterator[bytes]:
        """The body of a streamed answer, line by line (NDJSON, server-sent events)."""
        connection, response = self._send(method, path, json, params, extra=headers)
        try:
            if response.status >= 400:
                raise error_of(response.status, response.read())
            while line := response.readline(MAX_LINE):
                yield line.rstrip(b"\r\n")
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable("lost", exc) from None
        finally:
            connection.close()


#: A streamed line past this is cut (a log line that never ends still comes in pieces).
MAX_LINE = 1024 * 1024


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def error_of(status: int, body: bytes) -> ShipwayError:
    try:
        data = _json.loads(body)
        message, kind = str(data["error"]), str(data.get("kind", "invalid"))
    except (ValueError, KeyError, TypeError):
        message, kind = f"the server answered {status}", "invalid" if status < 500 else ""
    if status >= 500 and kind not in _ERRORS:
        return TemporaryError(f"server error: {message}")
    return _ERRORS.get(kind, ShipwayError)(message)
