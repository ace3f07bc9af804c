"""git's smart HTTP through the real ``git http-backend``: the environment Shipway gives it
answers a ref advertisement for the app's repository, and every other path, method,
content type or odd header is refused or dropped before git runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipway import githttp
from shipway.errors import NotFound, ShipwayError
from tests.unit.test_gitrepos import pushed


def backend(env: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    done = subprocess.run(
        ["git", "http-backend"], env=env, input=body, capture_output=True, check=False
    )
    head, _, rest = done.stdout.partition(b"\r\n\r\n")
    status, headers = githttp.response_head(head)
    return status, dict(headers), rest


@pytest.mark.parametrize("service", githttp.SERVICES)
def test_the_backend_advertises_the_apps_refs(tmp_path: Path, service: str) -> None:
    repo, commit = pushed(tmp_path, {"app.py": "x"})
    request = githttp.parse("tasks", "/info/refs", "GET", service)
    env = githttp.cgi_env(
        repo.parent,
        request,
        content_type=None,
        content_encoding=None,
        git_protocol="version=2",
        user="dev@example.com",
        address="127.0.0.1",
    )
    assert env["PATH_INFO"] == "/tasks.git/info/refs" and env["GIT_PROTOCOL"] == "version=2"
    status, headers, body = backend({k: v for k, v in env.items() if k != "GIT_PROTOCOL"})
    assert status == 200
    assert headers["Content-Type"] == f"application/x-{service}-advertisement"
    assert f"# service={service}".encode() in body and commit.encode() in body


@pytest.mark.parametrize(
    ("path", "method", "service"),
    [
        ("/HEAD", "GET", None),  # the dumb protocol: files of the repository
        ("/objects/info/packs", "GET", None),
        ("/config", "GET", None),
        ("/info/refs", "GET", None),
        ("/info/refs", "GET", "git-upload-archive"),
        ("/git-upload-pack", "GET", None),
        ("/info/refs", "POST", "git-upload-pack"),
        ("/../../etc/passwd", "GET", None),
    ],
)
def test_only_the_smart_endpoints_are_served(path: str, method: str, service: str | None) -> None:
    with pytest.raises(NotFound):
        githttp.parse("tasks", path, method, service)


def test_bodies_and_headers_are_checked(tmp_path: Path) -> None:
    request = githttp.parse("tasks", "/git-receive-pack", "POST", None)

    def env(**headers: str | None) -> dict[str, str]:
        given: dict[str, str | None] = {
            "content_type": "application/x-git-receive-pack-request",
            "content_encoding": None,
            "git_protocol": None,
        } | headers
        return githttp.cgi_env(tmp_path, request, user="u", address="a", **given)  # type: ignore[arg-type]

    assert env()["CONTENT_TYPE"] == "application/x-git-receive-pack-request"
    assert env(content_encoding="GZIP")["HTTP_CONTENT_ENCODING"] == "gzip"
    with pytest.raises(ShipwayError, match="must be application/x-git-receive-pack-request"):
        env(content_type="application/x-git-upload-pack-request")
    with pytest.raises(ShipwayError, match="unsupported Content-Encoding"):
        env(content_encoding="br")
    assert "GIT_PROTOCOL" not in env(git_protocol="version=2\nGIT_DIR=/etc")
    with pytest.raises(ShipwayError, match="not a valid name"):
        githttp.cgi_env(
            tmp_path,
            githttp.GitRequest("../x", "/git-upload-pack", "git-upload-pack"),
            content_type="application/x-git-upload-pack-request",
            content_encoding=None,
            git_protocol=None,
            user="u",
            address="a",
        )


def test_the_answers_status_line_is_read() -> None:
    assert githttp.response_head(b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n") == (
        403,
        [("Content-Type", "text/plain")],
    )
    assert githttp.response_head(b"Status: garbage")[0] == 502
    with pytest.raises(ShipwayError, match="too long"):
        githttp.response_head(b"X: " + b"y" * githttp.MAX_HEAD)
