"""A stand-in for GitHub's or GitLab's git hosting: bare repositories served over git's
smart HTTP on 127.0.0.1 by the real ``git http-backend`` (as CGI, from a threaded
``http.server``), answering only requests that carry the expected token (HTTP Basic,
any user name, as those hosts take a deploy token). It counts the requests it refused,
so a test can tell that the token was needed and was sent."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class GitHost:
    root: Path
    token: str
    port: int = 0
    refused: int = 0
    served: int = 0
    users: set[str] = field(default_factory=set)

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}"


def _handler(host: GitHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._cgi()

        def do_POST(self) -> None:
            self._cgi()

        def _authorised(self) -> bool:
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "basic":
                return False
            user, _, password = base64.b64decode(value).decode().partition(":")
            host.users.add(user)
            return password == host.token

        def _cgi(self) -> None:
            if not self._authorised():
                host.refused += 1
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            host.served += 1
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": "/usr/bin:/bin",
                "GIT_PROJECT_ROOT": str(host.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "REMOTE_USER": "test",
            }
            status, headers, payload = _backend(env, body)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _backend(env: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """git http-backend's answer: its status, headers and body."""
    done = subprocess.run(
        ["git", "http-backend"], env=env, input=body, capture_output=True, check=False
    )
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    status, headers = 200, []
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.append((name, value.strip()))
    return status, headers, payload


@contextmanager
def git_host(root: Path, token: str) -> Iterator[GitHost]:
    host = GitHost(root, token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    host.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


def git_out(cwd: Path, *args: str) -> str:
    """git's output in ``cwd`` (a commit made as user ``t``); a failure raises."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()
