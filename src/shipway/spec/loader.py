"""Load an app's description, from whichever files it has, into one ``AppSpec``.

Files are read in this order and merged field by field; two files that set the same
field differently is an error that names both:
``shipway.yaml`` → ``Procfile`` → ``app.json`` → ``.cupaas.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from shipway.errors import Location, SpecError
from shipway.spec import appfile, cupaas, heroku, procfile, shipway_yaml
from shipway.spec.model import AppSpec
from shipway.spec.partial import Partial, Sourced, build, merge

#: Reads the named description file of the app directory.
Loader = Callable[[Path, str], Partial]
LOADERS: tuple[tuple[tuple[str, ...], Loader], ...] = (
    (shipway_yaml.FILENAMES, shipway_yaml.load),
    ((procfile.FILENAME,), procfile.load),
    ((heroku.FILENAME,), heroku.load),
    (cupaas.FILENAMES, cupaas.load),
)


def check_app_dir(app_dir: Path) -> None:
    if not app_dir.is_dir():
        what = "is not a directory" if app_dir.exists() else "does not exist"
        raise SpecError(
            str(app_dir),
            None,
            f"the app directory {what}",
            "give the path of the app's source directory",
        )


def spec_files(app_dir: Path) -> list[str]:
    """The description files present in ``app_dir``, in merge order; one that links out
    of the app, loops or is a directory is an error (``appfile.locate``)."""
    found = []
    for names, _loader in LOADERS:
        present = [name for name in names if appfile.locate(app_dir, name)]
        if len(present) > 1:
            raise SpecError(
                present[1], None, f"both {names[0]} and {present[1]} exist", "keep only one of them"
            )
        found.extend(present)
    return found


def load_spec(app_dir: Path) -> AppSpec:
    """Read every description file of the app and return the merged, validated spec."""
    return load_sourced(app_dir)[0]


def load_sourced(app_dir: Path) -> tuple[AppSpec, Partial]:
    """The spec, and which file and line gave each field (for errors found later, such as
    a clash with the settings kept in the cluster)."""
    check_app_dir(app_dir)
    loaders = {name: loader for names, loader in LOADERS for name in names}
    files = spec_files(app_dir)
    merged = merge([loaders[name](app_dir, name) for name in files])
    if not any(path[0] == "name" for path in merged):
        merged[("name",)] = _default_name(app_dir, files)
    return build(merged), merged


def _default_name(app_dir: Path, files: list[str]) -> Sourced:
    """No file names the app: use app.json's name, else the directory's, made DNS-safe."""
    source = heroku.display_name(app_dir) if heroku.FILENAME in files else None
    where = Location(app_dir / heroku.FILENAME) if source else Location(app_dir.resolve())
    name = slug(source or app_dir.resolve().name)
    if not name:
        raise SpecError(
            where, "name", "cannot derive an app name", "add 'name: <app-name>' to shipway.yaml"
        )
    return Sourced(name, where)


def slug(text: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:40].rstrip("-")
