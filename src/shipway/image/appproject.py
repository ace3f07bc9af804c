"""Whether the app (or a local project it requires) is a package, and what its metadata
depends on: the inputs the dependencies layer's cache key must cover.

A project is a package when it says how to build one: a ``[build-system]`` table or a
``setup.py``, unless Poetry's ``package-mode = false`` or uv's ``package = false`` says
it is not (their ``--no-root`` semantics). Its metadata (name, version, requirements,
entry points) comes from ``pyproject.toml``, ``setup.py`` and ``setup.cfg``, and, when
the version is dynamic, from the file the build backend reads it from: setuptools'
``attr:``/``file:``, hatch's and pdm's ``path``, flit's module. Of a Python file only the
lines assigning the version count, so editing the code beside ``__version__`` in an
``__init__.py`` does not rebuild the dependencies.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path, PurePosixPath
from typing import Any

from shipway.image.appread import contained, read_text, read_toml, table

METADATA_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
VERSION_LINE = re.compile(r"^\s*(_*version_*|VERSION)\s*(:[^=]*)?=.*$", re.M | re.I)


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
