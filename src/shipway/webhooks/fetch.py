"""A delivery's commit, fetched from the app's repository into a cache of the server's
(one bare repository per app), from where ``gitrepos.export`` takes its files (issue 13).

What comes from a delivery never becomes an option: the URL must be HTTP(S) (SSH deploy
keys are not supported yet), its host may not start with ``-``, git gets ``--`` before
it, and only HTTP(S) transports are allowed (``GIT_ALLOW_PROTOCOL``), so no ``file://``,
``ext::`` or local path. The deploy token is sent as an ``Authorization`` header scoped
to the repository's host, through ``GIT_CONFIG_*`` environment variables: never on a
command line (``ps`` shows those) nor in a URL (git prints URLs in its errors). No
prompt, a low-speed limit and a timeout: a slow or silent host fails the delivery."""

from __future__ import annotations

import base64
import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

from shipway.errors import ShipwayError, excerpt
from shipway.gitrepos import COMMIT, config_env, ensure, git, git_env

#: Seconds a fetch may take.
TIMEOUT = 240
#: An HTTP(S) URL git may fetch from: a host (and port), a path, no user info.
HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s\x00-\x1f@]{1,1000}")
#: Fetches into one app's cache at a time (git locks its refs; two fetches would race).
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def check_url(url: str) -> str:
    """``url`` if Shipway fetches from it; ShipwayError naming the fix otherwise."""
    if url.startswith(("ssh://", "git@")) or ("@" in url and "://" not in url):
        raise ShipwayError(
            "the repository is an SSH URL: SSH deploy keys are not supported yet; set the "
            "app's upstream to its https:// URL (shipway git:settings --upstream URL)"
        )
    host = (urlsplit(url).hostname or "") if HTTP_URL.fullmatch(url) else ""
    if not host or host.startswith(("-", ".")):
        raise ShipwayError(
            f"the repository URL '{excerpt(url, 80)}' is not an http(s):// URL Shipway "
            "fetches from (no user name in it: the deploy token goes in the credential)"
        )
    return url


def fetch(
    root: Path,
    app: str,
    url: str,
    commit: str,
    branch: str | None,
    token: str = "",
    user: str = "x-access-token",
) -> Path:
    """The app's cache repository under ``root``, holding ``commit`` fetched from
    ``url`` (by its name, else by ``branch`` when the host refuses unadvertised
    commits)."""
    if not COMMIT.fullmatch(commit):
        raise ShipwayError(f"'{excerpt(commit)}' is not a full commit name")
    check_url(url)
    with _guard:
        lock = _locks.setdefault(app, threading.Lock())
    with lock:
        repo = ensure(root, app)
        env = _env(url, token, user)
        if _has(repo, commit):
            return repo
        done = _git_fetch(repo, env, url, commit)
        if done.returncode != 0 and branch:
            done = _git_fetch(repo, env, url, f"refs/heads/{branch}")
        if done.returncode != 0:
            raise ShipwayError(f"fetching {commit[:12]} from {_shown(url)} failed: {_said(done)}")
        if not _has(repo, commit):
            raise ShipwayError(
                f"commit {commit[:12]} is not in {_shown(url)} (branch {branch or '?'}): "
                "was the branch pushed over since?"
            )
        return repo


def _git_fetch(
    repo: Path, env: dict[str, str], url: str, what: str
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1",
             "--", url, what],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ShipwayError(f"fetching from {_shown(url)} took over {TIMEOUT} s") from None


def _has(repo: Path, commit: str) -> bool:
    return git(repo, "cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0


def _env(url: str, token: str, user: str) -> dict[str, str]:
    settings = {
        # A host that stalls below 1 KB/s for 30 s fails the fetch.
        "http.lowSpeedLimit": "1000",
        "http.lowSpeedTime": "30",
        "protocol.version": "2",
        "credential.helper": "",
    }
    if token:
        parts = urlsplit(url)
        pair = base64.b64encode(f"{user}:{token}".encode()).decode()
        # Scoped to the repository's host: a redirect elsewhere does not carry it.
        settings[f"http.{parts.scheme}://{parts.netloc}/.extraHeader"] = (
            f"Authorization: Basic {pair}"
        )
    return git_env() | {"GIT_ALLOW_PROTOCOL": "http:https"} | config_env(settings)


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return excerpt(f"{parts.scheme}://{parts.netloc}{parts.path}", 120)


def _said(done: subprocess.CompletedProcess[bytes]) -> str:
    # git's own words (it never prints the extra header); the last line says why.
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return excerpt(lines[-1] if lines else f"git exited with {done.returncode}", 160)
