"""git's smart HTTP protocol, served by git's own ``git http-backend`` (a CGI program):
which service a request asks for, the CGI environment that runs it for one app's
repository, and the status and headers of its answer (issue 13).

Only the three smart-protocol endpoints are served (``info/refs`` with a ``service``,
``git-upload-pack``, ``git-receive-pack``); the dumb protocol and every other path are
refused, so the backend never serves a repository's files directly. Nothing from the
request reaches the environment unchecked: the app's name is a DNS label, the
``GIT_PROTOCOL`` header is kept only when it reads like git's (``version=2``), and
content types and encodings come from short allowed lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shipway.errors import NotFound, ShipwayError
from shipway.gitrepos import git_env, repo_path

Service = Literal["git-upload-pack", "git-receive-pack"]
SERVICES: tuple[Service, ...] = ("git-upload-pack", "git-receive-pack")
_BY_NAME: dict[str, Service] = {name: name for name in SERVICES}
#: What git sends in ``Git-Protocol`` (``version=2``, ``key=value:…``).
PROTOCOL = re.compile(r"[A-Za-z0-9=:._-]{1,128}")
ENCODINGS = ("gzip", "identity")
#: The longest header block read from the backend before its body.
MAX_HEAD = 16 * 1024


@dataclass(frozen=True)
class GitRequest:
    app: str
    #: ``/info/refs`` or ``/git-upload-pack`` or ``/git-receive-pack``.
    path: str
    service: Service


def parse(app: str, path: str, method: str, service: str | None) -> GitRequest:
    """The request for ``/<app>.git<path>``; a path or method the smart protocol does not
    use is NotFound (as a repository that does not exist is)."""
    asked = _BY_NAME.get(service or "") if path == "/info/refs" else None
    if asked and method == "GET":
        return GitRequest(app, path, asked)
    posted = _BY_NAME.get(path.removeprefix("/"))
    if posted and method == "POST":
        return GitRequest(app, path, posted)
    raise NotFound(f"{app}.git{path[:80]}: not a git smart-HTTP endpoint")


def cgi_env(
    root: Path,
    request: GitRequest,
    *,
    content_type: str | None,
    content_encoding: str | None,
    git_protocol: str | None,
    user: str,
    address: str,
) -> dict[str, str]:
    """The environment ``git http-backend`` runs with for ``request``."""
    advertising = request.path == "/info/refs"
    env = git_env() | {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repo_path(root, request.app).name}{request.path}",
        "REQUEST_METHOD": "GET" if advertising else "POST",
        "QUERY_STRING": f"service={request.service}" if advertising else "",
        "REMOTE_USER": user,
        "REMOTE_ADDR": address,
    }
    if not advertising:
        expected = f"application/x-{request.service}-request"
        if content_type != expected:
            raise ShipwayError(f"{request.service}: the body must be {expected}")
        env["CONTENT_TYPE"] = expected
        encoding = (content_encoding or "identity").lower()
        if encoding not in ENCODINGS:
            raise ShipwayError(f"{request.service}: unsupported Content-Encoding")
        env["HTTP_CONTENT_ENCODING"] = encoding
    if git_protocol and PROTOCOL.fullmatch(git_protocol):
        env["GIT_PROTOCOL"] = git_protocol
    return env


def response_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers of the backend's CGI answer (its lines before the blank
    line); ``Status:`` gives the code, 200 without one."""
    if len(head) > MAX_HEAD:
        raise ShipwayError("git http-backend: its answer's headers are too long")
    status, headers = 200, []
    for raw in head.decode("latin-1").split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        name, _, value = line.partition(":")
        if name.lower() == "status":
            code = value.strip()[:3]
            status = int(code) if code.isdigit() else 502
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers
