"""Write small app directories for tests."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from shipway.detect import BuildPlan
from shipway.errors import ShipwayError
from shipway.project import load
from tests.conftest import EXAMPLES


def make_app(root: Path, files: dict[str, str], name: str = "app") -> Path:
    app = root / name
    app.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return app


def copy_example(
    root: Path, example: str, name: str | None = None, keep: tuple[str, ...] = ()
) -> Path:
    """A copy of an example's source; description files are dropped unless kept."""
    target = root / (name or example)
    specs = {"shipway.yaml", "Procfile", "app.json", ".cupaas.yml"}
    shutil.copytree(
        EXAMPLES / example,
        target,
        ignore=lambda _d, names: [n for n in names if n in specs - set(keep)],
    )
    return target


def plan_of(root: Path, files: dict[str, str]) -> BuildPlan:
    """The build plan of an app made of ``files``."""
    return load(make_app(root, files)).plan


def web_command(plan: BuildPlan) -> str | list[str] | None:
    assert plan.web is not None
    return plan.web.command


def loads_or_fails_in_one_line(files: dict[str, str | bytes]) -> None:
    """Spec and detection of an app made of ``files`` (any bytes) either succeed or fail
    with a one-line ``ShipwayError``: the only outcomes allowed for hostile input."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        for name, content in files.items():
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            (app / name).write_bytes(data)
        try:
            load(app)
        except ShipwayError as exc:
            assert "\n" not in str(exc), str(exc)
            assert str(exc).strip()
