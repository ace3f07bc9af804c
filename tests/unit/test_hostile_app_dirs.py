"""Whole hostile app directories: random sets of the files Shipway reads, in random
encodings, with symlinks into the app, out of it, to directories, to nothing and to
themselves. Reading such an app (spec, detection, the image's file list, the
dependency files, the generated Dockerfile) either succeeds or fails with a one-line
``ShipwayError``; nothing read from outside the app appears in a message or a result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shipway.errors import ShipwayError
from shipway.image import appproject, lockfiles
from shipway.image.appfiles import app_entries
from shipway.image.aptfile import read_aptfile
from shipway.image.dockerfile import dockerfile
from shipway.image.target import Target
from shipway.project import load

pytestmark = pytest.mark.unit

#: Written outside the app; an app may link to it, but must never get it read back.
CANARY = "CANARY-7f3a9c"
OUTSIDE = (
    f"{CANARY}\nweb: echo {CANARY}\nname: {CANARY}\n[project]\nname = '{CANARY}'\n"
    f"python_version = '{CANARY}'\n{CANARY}==1.0\n"
)
#: Every app starts as a working one, so the random files reach every stage.
FLASK_APP = "from flask import Flask\napp = Flask(__name__)\n"
NAMES = (
    "shipway.yaml", "Procfile", "app.json", ".cupaas.yml", "requirements.txt",
    "requirements/base.txt", "pyproject.toml", "Pipfile", "Pipfile.lock", "poetry.lock",
    "uv.lock", "setup.py", "runtime.txt", ".python-version", ".tool-versions", "Aptfile",
    ".dockerignore", ".gitignore", "Dockerfile", "app.py", "main.py", "wsgi.py", "manage.py",
    "gunicorn.conf.py", "fly.toml", "render.yaml", "railway.json", "nixpacks.toml",
    "app.yaml", "pkg/__init__.py", "start.sh",
)  # fmt: skip
SNIPPETS = (
    "web: gunicorn app:app\n", "web: python app.py\n", "name: demo\n", "services: [mongodb]\n",
    "env:\n  SECRET: s3cret\n", '{"name": "demo", "env": {"K": "v"}}', "flask==3.0.0\n",
    "-r requirements/base.txt\n", "-r ../outside.txt\n", "-e .\n", "./pkg\n",
    "file:///etc/passwd\n", "--index-url https://u:p@example.invalid/simple\n",
    "[project]\nname = 'demo'\ndependencies = ['flask']\n", "tool = 1\n",
    "[tool.poetry]\nname = 'x'\n", "python-3.12.1\n", "3.11\n", "python 3.13.0\n",
    FLASK_APP, "import os\nport = os.environ['PORT']\n",
    "FROM python:3.12\nCMD [\"python\", \"app.py\"]\n", "!keep\n*.log\n/build\n**/secret\n",
    "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "\x1b[31m[/x]\x07\r\n", "\ufeffname: bom\n",
)  # fmt: skip
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "latin-1")
LINKS = ("outside-file", "outside-dir", "inside", "self", "dangling", "dot", "dotdot", "loop")
FUZZ = settings(
    max_examples=int(os.environ.get("SHIPWAY_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TARGET = Target("3.11", "x86_64-manylinux_2_28")


@dataclass(frozen=True)
class Text:
    content: str
    encoding: str


@dataclass(frozen=True)
class Link:
    kind: str


File = Text | Link | bytes
texts = st.lists(st.sampled_from(SNIPPETS) | st.text(max_size=40), max_size=4).map("".join)
files = st.one_of(
    st.builds(Text, texts, st.sampled_from(ENCODINGS)),
    st.builds(Link, st.sampled_from(LINKS)),
    st.binary(max_size=64),
)


def _link_target(kind: str, app: Path, rel: str, outside: Path) -> str:
    depth = "../" * rel.count("/")
    return {
        "outside-file": str(outside / "secret.txt"),
        "outside-dir": f"{depth}../outside",
        "inside": f"{depth}app.py" if rel != "app.py" else "main.py",
        "self": Path(rel).name,
        "dangling": f"{depth}no-such-file",
        "dot": ".",
        "dotdot": f"{depth}..",
        "loop": f"{depth}loop-b",
    }[kind]


def _write(app: Path, tree: dict[str, File], outside: Path) -> None:
    if Link("loop") in tree.values():
        (app / "loop-b").symlink_to("loop-a")
        (app / "loop-a").symlink_to("loop-b")
    for rel, content in tree.items():
        path = app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        if isinstance(content, Link):
            path.symlink_to(_link_target(content.kind, app, rel, outside))
        elif isinstance(content, Text):
            path.write_bytes(content.content.encode(content.encoding, "replace"))
        else:
            path.write_bytes(content)


def _stages(app: Path) -> list[Callable[[], object]]:
    """What Shipway derives from the app without a network, each stage on its own so
    one refusal does not hide the next: the file list and the Aptfile need no spec."""

    def project() -> object:
        loaded = load(app)
        deps = loaded.plan.dependencies
        found: list[object] = [loaded.spec, loaded.plan]
        if deps is not None and deps.kind is not None:
            root = app.resolve()
            found.append(lockfiles.select(root, deps, TARGET, appproject.is_package(root)))
        if loaded.plan.dockerfile is None:
            found.append(dockerfile(loaded.plan, app_dir=app))
        return found

    return [
        project,
        lambda: [(e.name, e.link, e.source) for e in app_entries(app, "app")],
        lambda: read_aptfile(app),
    ]


def _outcome(stage: Callable[[], object]) -> str:
    try:
        derived = repr(stage())
    except ShipwayError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "\r" not in message, message
        assert CANARY not in message, message
        return f"refused: {type(exc).__name__}"
    assert CANARY not in derived
    return "read"


@FUZZ
@given(st.dictionaries(st.sampled_from(NAMES), files, min_size=1, max_size=6))
def test_any_app_directory(tree: dict[str, File]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outside = Path(tmp) / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text(OUTSIDE)
        (Path(tmp) / "outside.txt").write_text(OUTSIDE)
        for name in NAMES:
            (outside / name).parent.mkdir(parents=True, exist_ok=True)
            (outside / name).write_text(OUTSIDE)
        app = Path(tmp) / "app"
        app.mkdir()
        (app / "app.py").write_text(FLASK_APP)
        (app / "requirements.txt").write_text("flask==3.0.0\n")
        _write(app, tree, outside)
        for number, stage in enumerate(_stages(app)):
            event(f"stage {number}: {_outcome(stage)}")
