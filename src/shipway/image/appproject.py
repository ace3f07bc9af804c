"""Whether the app (or a local project it requires) is a package, and what its metadata
depends on: the inputs the dependencies layer's cache key must cover.

A project is a package when it says how to build one: a ``[build-system]`` table or a
``setup.py``, unless Poetry's ``package-mode = false`` or uv's ``package = false`` says
it is not (their ``--no-root`` semantics). Its metadata (name, version, requirements,
entry points) comes from ``pyproject.toml``, ``setup.py`` and ``setup.cfg``, and, when
the version is dynamic, from the file the build backend reads it from: setuptools'
``attr:``/``file:``, hatch's and pdm's ``path``, flit's module. Of a Python file only the
lines assigning the version count, so editing the code beside ``__version__`` in an
``__init__.py`` does not rebuild the dependencies. A ``setup.py`` that reads requirement
files (``open("requirements.txt")``) has them among its inputs too, and so do the files
hatch's ``requirements_txt`` hook reads.

Where a dependency comes from is not part of a package's metadata: ``[tool.uv.sources]``,
uv's indexes and Poetry's ``source`` are lost when the metadata is built, and the
package would come from the default index under the same name (dependency confusion).
``check_sources`` refuses such a project unless a lock, or the requirement files, say.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path, PurePosixPath
from typing import Any

from shipway.errors import SpecError
from shipway.image.appread import contained, read_text, read_toml, table
from shipway.image.reqfiles import normalise

METADATA_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
VERSION_LINE = re.compile(r"^\s*(_*version_*|VERSION)\s*(:[^=]*)?=.*$", re.M | re.I)
#: A file name in quotes in ``setup.py`` that says it lists requirements.
REQUIREMENTS_NAME = re.compile(
    r"""["']([\w./-]*(?:requirement|constraint)[\w.-]*\.(?:txt|in))["']""", re.I
)
#: Project-wide index settings of uv that a package's metadata cannot carry.
UV_INDEX_KEYS = ("index", "index-url", "extra-index-url", "find-links")


def is_package(root: Path, rel: str = ".") -> bool:
    base = root / rel
    if not (base / "pyproject.toml").is_file():
        return (base / "setup.py").is_file()
    data = _pyproject(root, rel)
    if table(data, "tool", "poetry").get("package-mode") is False:
        return False
    uv_package = table(data, "tool", "uv").get("package")
    if isinstance(uv_package, bool):
        return uv_package
    return bool(table(data, "build-system")) or (base / "setup.py").is_file()


def check_sources(root: Path, rel: str, listed: set[str], indexes: bool) -> None:
    """Refuse the project at ``rel`` if its ``pyproject.toml`` says where a dependency
    comes from in a way only a lock records, unless the requirement files decide: they
    list that package (``listed``: normalised names), or name indexes (``indexes``)."""
    file = _join(rel, "pyproject.toml")
    data = _pyproject(root, rel)
    uv = table(data, "tool", "uv")
    for name in table(uv, "sources"):
        if normalise(name) not in listed:
            raise _needs_lock(file, f"tool.uv.sources.{name}", "uv")
    for key in UV_INDEX_KEYS:
        if uv.get(key) and not indexes:
            raise _needs_lock(file, f"tool.uv.{key}", "uv")
    poetry = table(data, "tool", "poetry")
    for name, value in table(poetry, "dependencies").items():
        alternatives = value if isinstance(value, list) else [value]
        pinned = any(isinstance(spec, dict) and "source" in spec for spec in alternatives)
        if pinned and normalise(name) not in listed:
            raise _needs_lock(file, f"tool.poetry.dependencies.{name}.source", "poetry")
    if poetry.get("source") and not indexes:
        raise _needs_lock(file, "tool.poetry.source", "poetry")


def _needs_lock(file: str, field: str, tool: str) -> SpecError:
    return SpecError(
        file, field,
        "says where packages come from, which only a lock records (without one they "
        "would come from the default index, under the same names)",
        f"run `{tool} lock` and commit {tool}.lock",
    )  # fmt: skip


def key_inputs(root: Path, rel: str = ".") -> list[tuple[str, bytes]]:
    """(label, bytes) pairs: everything the project's installed metadata is made from."""
    found = []
    for name in METADATA_FILES:
        file = _join(rel, name)
        if (root / file).is_file():
            found.append((file, read_text(root, file).encode()))
    for file in sorted(set(_version_files(root, rel))):
        text = read_text(root, file)
        if file.endswith(".py"):
            text = "\n".join(m.group(0).strip() for m in VERSION_LINE.finditer(text))
        found.append((file, text.encode()))
    return found


def _version_files(root: Path, rel: str) -> list[str]:
    data = _pyproject(root, rel)
    bases = _package_dirs(data)
    named: list[str] = []
    modules: list[str] = []
    for value in table(data, "tool", "setuptools", "dynamic").values():
        if isinstance(value, dict):
            named += _listed(value.get("file"))
            modules += _listed(value.get("attr"))
    for tool in ("hatch", "pdm"):
        named += _listed(table(data, "tool", tool, "version").get("path"))
    cfg_named, cfg_modules = _setup_cfg(root, rel)
    named, modules = named + cfg_named, modules + cfg_modules
    named += _listed(
        table(data, "tool", "hatch", "metadata", "hooks", "requirements_txt").get("files")
    )
    named += _setup_py_requirements(root, rel)
    backend = str(table(data, "build-system").get("build-backend", ""))
    if backend.startswith("flit") and "version" in table(data, "project").get("dynamic", []):
        module = table(data, "tool", "flit", "module").get("name")
        module = module or str(table(data, "project").get("name", "")).replace("-", "_")
        modules.append(f"{module}.__version__")
    files = [_join(rel, name) for name in named]
    files += [f for attr in modules for f in _module_files(rel, bases, attr)]
    return [f for f in files if contained(root, ".", f) == f and (root / f).is_file()]


def _setup_cfg(root: Path, rel: str) -> tuple[list[str], list[str]]:
    """``file:``/``attr:`` values of ``setup.cfg`` (version, requirements)."""
    if not _has(root, rel, "setup.cfg"):
        return [], []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text(root, _join(rel, "setup.cfg")))
    except configparser.Error:
        return [], []
    values = [v.strip() for section in parser.values() for v in section.values()]
    named = [f.strip() for v in values if v.startswith("file:") for f in v[5:].split(",")]
    modules = [v[5:].strip() for v in values if v.startswith("attr:")]
    return named, modules


def _setup_py_requirements(root: Path, rel: str) -> list[str]:
    """Requirement files ``setup.py`` names (it reads them to list its requirements)."""
    if not _has(root, rel, "setup.py"):
        return []
    return REQUIREMENTS_NAME.findall(read_text(root, _join(rel, "setup.py")))


def _module_files(rel: str, bases: list[str], attr: str) -> list[str]:
    module = attr.rsplit(".", 1)[0].replace(".", "/")
    return [
        _join(rel, str(PurePosixPath(base) / candidate))
        for base in bases
        for candidate in (f"{module}.py", f"{module}/__init__.py")
    ]


def _package_dirs(data: dict[str, Any]) -> list[str]:
    """Where packages may sit: the root, ``src/`` and setuptools' ``package-dir``."""
    mapped = table(data, "tool", "setuptools", "package-dir").get("")
    return [".", "src", *([str(mapped)] if mapped else [])]


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _pyproject(root: Path, rel: str) -> dict[str, Any]:
    file = _join(rel, "pyproject.toml")
    return read_toml(root, file) if (root / file).is_file() else {}


def _has(root: Path, rel: str, name: str) -> bool:
    return (root / rel / name).is_file()


def _join(rel: str, name: str) -> str:
    return str(PurePosixPath(rel) / name) if rel != "." else name
