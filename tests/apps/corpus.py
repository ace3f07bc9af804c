"""The corpus of real-world-style fixture apps: each app directory and its EXPECT.json.

Every app under ``tests/apps/<name>/`` is written the way another platform's public samples
are (Heroku, Render, Railway, Fly.io, App Engine, DigitalOcean…) and is deployed *unedited*.
Its ``EXPECT.json`` says what a deploy must show, as a Heroku user would check it:

- ``about``: the conventions the app exercises (for people reading a failure);
- ``subdir``: the app's directory inside the copied tree (a monorepo), if not the root;
- ``inspect``: what ``shipway inspect --json`` must find in the app's files — ``python``
  (the minor version the app asks for), ``python_source`` (the file saying so), ``port``
  (only when the app listens on a fixed port whatever ``$PORT`` says), ``web_contains``
  (substrings of the web command), ``release_contains`` and ``addons`` (declared in files);
- ``lifecycle``: verbs typed after ``shipway create APP`` and before the first deploy,
  each without the app's name (``addons:create postgresql:16``, ``config:set K=V``);
- ``addons`` and ``config``: the addons and config vars the deployed app must have;
- ``requests``: HTTP requests sent in order to the deployed app, each with the ``status``
  and the ``json`` subset or ``body_contains`` substrings its answer must have.

The unit tier checks the ``inspect`` part, the e2e tier everything else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APPS = Path(__file__).resolve().parent
EXPECT = "EXPECT.json"

_TOP = {"about", "subdir", "inspect", "lifecycle", "addons", "config", "requests"}
_INSPECT = {"python", "python_source", "port", "web_contains", "release_contains", "addons"}
_REQUEST = {"method", "path", "body", "status", "json", "body_contains"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    body: Any = None
    json: dict[str, Any] | None = None
    body_contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class App:
    name: str
    root: Path
    about: str
    subdir: str | None
    inspect: dict[str, Any]
    lifecycle: tuple[str, ...]
    addons: tuple[str, ...]
    config: dict[str, str]
    requests: tuple[Request, ...] = field(default=())

    @property
    def app_dir(self) -> Path:
        """The directory to inspect and deploy (the subdirectory of a monorepo)."""
        return self.root / self.subdir if self.subdir else self.root


#: Lock files the repository does not keep (they name the package registry's host, which
#: no file here may): ``lock`` makes them in a copy of the app, as its author did.
LOCKERS = {"uv.lock": ["uv", "lock", "--quiet"]}


def lock(app_dir: Path) -> None:
    """Write the lock files an app's ``.locks`` lists (one file name a line)."""
    listed = app_dir / ".locks"
    if not listed.is_file():
        return
    uv_bin = Path(sys.executable).parent
    for name in listed.read_text().split():
        command = LOCKERS[name]
        subprocess.run(
            [str(uv_bin / command[0]), *command[1:]], cwd=app_dir, check=True, timeout=300
        )


def names() -> list[str]:
    return sorted(p.parent.name for p in APPS.glob(f"*/{EXPECT}"))


def load(name: str) -> App:
    """The app's expectations; a malformed EXPECT.json fails with the file and the key."""
    root = APPS / name
    data = json.loads((root / EXPECT).read_text(encoding="utf-8"))
    _only(data, _TOP, f"{name}/{EXPECT}")
    _only(data.get("inspect", {}), _INSPECT, f"{name}/{EXPECT}: inspect")
    requests = tuple(
        _request(raw, f"{name}/{EXPECT}: requests[{i}]") for i, raw in enumerate(data["requests"])
    )
    if not requests or requests[0].method != "GET":
        raise ValueError(f"{name}/{EXPECT}: the first request must be a GET (it is retried)")
    return App(
        name=name,
        root=root,
        about=data["about"],
        subdir=data.get("subdir"),
        inspect=data.get("inspect", {}),
        lifecycle=tuple(data.get("lifecycle", [])),
        addons=tuple(data.get("addons", [])),
        config=dict(data.get("config", {})),
        requests=requests,
    )


def _request(raw: dict[str, Any], where: str) -> Request:
    _only(raw, _REQUEST, where)
    contains = raw.get("body_contains", ())
    return Request(
        method=raw["method"],
        path=raw["path"],
        status=raw["status"],
        body=raw.get("body"),
        json=raw.get("json"),
        body_contains=(contains,) if isinstance(contains, str) else tuple(contains),
    )


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; use {sorted(allowed)}")


def answer_problems(expected: Request, status: int, text: str) -> list[str]:
    """What is wrong with an answer (empty when it is what the app's code says)."""
    problems = []
    if status != expected.status:
        problems.append(f"status {status}, expected {expected.status}")
    problems += [f"body lacks {part!r}" for part in expected.body_contains if part not in text]
    if expected.json is not None:
        try:
            got = json.loads(text)
        except ValueError:
            return [*problems, "body is not JSON"]
        problems += [
            f"{key}: {got.get(key)!r}, expected {value!r}"
            for key, value in expected.json.items()
            if not isinstance(got, dict) or got.get(key) != value
        ]
    if problems:
        problems.append(f"body: {text[:300]!r}")
    return problems
