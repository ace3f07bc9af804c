"""Detection reads only the app's own files, and only so much of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.detect import detect
from shipway.detect.plan import BuildPlan
from shipway.errors import SpecError
from shipway.spec import load_spec
from tests.helpers.appdir import make_app

HASHED = "package-{0}==1.0.{0} \\\n" + "    --hash=sha256:{1}\n" * 8


def plan_of(app: Path) -> BuildPlan:
    return detect(app, load_spec(app))


def test_long_hashed_requirements_are_read(tmp_path: Path) -> None:
    lines = "".join(HASHED.format(n, "ab" * 32) for n in range(600))
    assert len(lines) > 256 * 1024
    app = make_app(tmp_path, {"requirements.txt": lines, "app.py": ""})
    deps = plan_of(app).dependencies
    assert deps is not None and len(deps.names) == 600


def test_requirements_past_the_cap(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "# x\n" * 1_100_000, "app.py": ""})
    with pytest.raises(SpecError, match=r"^requirements.txt: is larger than 4096 KiB"):
        plan_of(app)


@pytest.mark.parametrize(
    "name", ["runtime.txt", ".python-version", "Pipfile", "Dockerfile", "fly.toml"]
)
def test_a_named_file_linking_outside_the_app(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret").write_text("python-3.12\n")
    app = make_app(tmp_path, {"app.py": ""})
    (app / name).symlink_to(tmp_path / "secret")
    with pytest.raises(SpecError, match=rf"^{name}: links outside the app directory; copy"):
        plan_of(app)


def test_source_linking_outside_the_app_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    app = make_app(tmp_path, {"requirements.txt": "flask\n"})
    (app / "wsgi.py").symlink_to(tmp_path / "elsewhere.py")
    with pytest.raises(SpecError, match="cannot tell how to start the web process"):
        plan_of(app)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / "Pipfile").write_bytes(b"[requires]\npython_version = '\xff'\n")
    with pytest.raises(
        SpecError, match=r"^Pipfile: cannot be read as UTF-8 text; save it as UTF-8$"
    ):
        plan_of(app)
