"""Detection's reads of an app's files, through the one contained, bounded reader.

Every read goes through ``shipway.spec.appfile`` (inside the app after links are
resolved, a regular file, size-capped) and every parse through
``shipway.spec.documents`` (bounded depth, aliases, values and numbers). Files whose
shape a specification fixes (``pyproject.toml``, ``Pipfile``) are checked against it, so
a ``tool`` that is not a table is a one-line error rather than silently nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.errors import SpecError
from shipway.spec import appfile, documents
from shipway.spec.documents import Shape

MAX_BYTES = appfile.MAX_BYTES
MAX_REQUIREMENTS_BYTES = appfile.MAX_REQUIREMENTS_BYTES

_TABLE = (dict, "a table")
_ARRAY = (list, "an array")
_STRING = (str, "a string")
#: What PEP 517/518/621 and the tools' documentation fix, for the fields Shipway reads.
PYPROJECT: Shape = {
    ("project",): _TABLE,
    ("project", "name"): _STRING,
    ("project", "requires-python"): _STRING,
    ("project", "dependencies"): _ARRAY,
    ("project", "dependencies", "*"): _STRING,
    ("project", "optional-dependencies"): _TABLE,
    ("project", "optional-dependencies", "*"): _ARRAY,
    ("project", "optional-dependencies", "*", "*"): _STRING,
    ("project", "dynamic"): _ARRAY,
    ("project", "dynamic", "*"): _STRING,
    ("project", "scripts"): _TABLE,
    ("project", "scripts", "*"): _STRING,
    ("project", "gui-scripts"): _TABLE,
    ("project", "entry-points"): _TABLE,
    ("project", "entry-points", "*"): _TABLE,
    ("build-system",): _TABLE,
    ("build-system", "requires"): _ARRAY,
    ("build-system", "requires", "*"): _STRING,
    ("build-system", "build-backend"): _STRING,
    ("tool",): _TABLE,
    ("tool", "*"): _TABLE,
    ("tool", "poetry", "dependencies"): _TABLE,
    ("tool", "poetry", "dev-dependencies"): _TABLE,
    ("tool", "poetry", "group"): _TABLE,
    ("tool", "poetry", "group", "*"): _TABLE,
    ("tool", "poetry", "group", "*", "dependencies"): _TABLE,
    ("tool", "poetry", "scripts"): _TABLE,
    ("tool", "poetry", "source"): _ARRAY,
    ("tool", "poetry", "source", "*"): _TABLE,
    ("tool", "poetry", "package-mode"): (bool, "true or false"),
    ("tool", "uv", "package"): (bool, "true or false"),
    ("tool", "setuptools", "dynamic"): _TABLE,
    ("tool", "setuptools", "dynamic", "*"): _TABLE,
    ("tool", "setuptools", "package-dir"): _TABLE,
    ("tool", "flit", "module"): _TABLE,
}
PIPFILE: Shape = {
    ("packages",): _TABLE,
    ("dev-packages",): _TABLE,
    ("requires",): _TABLE,
    ("source",): _ARRAY,
    ("source", "*"): _TABLE,
    ("scripts",): _TABLE,
}
SHAPES: dict[str, tuple[Shape, str]] = {
    "pyproject.toml": (PYPROJECT, "see the pyproject.toml specification (PEP 621)"),
    "Pipfile": (PIPFILE, "see Pipenv's Pipfile format"),
}


def inside(app_dir: Path, file: Path) -> bool:
    """Whether ``file``, symlinks resolved, is a regular file within ``app_dir``."""
    try:
        return appfile.locate(app_dir, str(file.relative_to(app_dir))) is not None
    except (SpecError, ValueError):
        return False


def app_file(app_dir: Path, rel: str) -> Path | None:
    """``app_dir/rel`` if the app has that file; one that links outside the app, loops
    or is a directory is an error."""
    return None if appfile.locate(app_dir, rel) is None else app_dir / rel


def text(app_dir: Path, rel: str, limit: int = MAX_BYTES) -> str | None:
    """The UTF-8 text of ``rel``, or ``None`` when the app has no such file."""
    return appfile.read_text(app_dir, rel, limit)


def read(file: Path, label: str, limit: int = MAX_BYTES) -> str:
    """The text of ``file``, which the caller has checked is inside the app."""
    return appfile.read_file(file, label, limit)


def source(app_dir: Path, rel: str) -> str:
    """Python source to scan for hints: ``""`` when absent, outside, too big or unreadable."""
    try:
        return appfile.read_text(app_dir, rel) or ""
    except SpecError:
        return ""


def toml(app_dir: Path, rel: str) -> dict[str, Any] | None:
    content = text(app_dir, rel)
    return None if content is None else parse_toml(content, rel)


def parse_toml(content: str, rel: str) -> dict[str, Any]:
    """TOML within the bounds; ``pyproject.toml`` and ``Pipfile`` checked for shape."""
    doc = documents.parse_toml(content, Path(rel))
    shape = SHAPES.get(Path(rel).name)
    if shape is not None:
        documents.check_shape(doc, *shape)
    data: dict[str, Any] = doc.data
    return data


def json_file(app_dir: Path, rel: str) -> Any:
    doc = documents.load(app_dir, rel, documents.parse_json)
    return None if doc is None else doc.data


def yaml_file(app_dir: Path, rel: str) -> Any:
    doc = documents.load(app_dir, rel, documents.parse_yaml)
    return None if doc is None else doc.data


def table(data: Any, *keys: str) -> dict[str, Any]:
    """``data[k1][k2]…`` when every level is a mapping, else ``{}``."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}
