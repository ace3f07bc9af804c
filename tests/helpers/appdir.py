"""Write small app directories for tests."""

from __future__ import annotations

import shutil
from pathlib import Path

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
