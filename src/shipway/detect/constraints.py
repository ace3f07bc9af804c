"""The Python versions an app accepts, from the files of its packaging tools.

``requires-python`` (PEP 621), Poetry's ``python`` dependency and the Pipfile's
``[requires]`` each restrict the Python an app runs on; together (their intersection)
they are the app's constraint, a PEP 440 specifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipway.detect import files, poetry
from shipway.errors import SpecError, excerpt

MINOR = re.compile(r"^\d+\.\d+")


@dataclass(frozen=True)
class Part:
    file: str
    field: str
    specifier: SpecifierSet


@dataclass(frozen=True)
class Allowed:
    parts: tuple[Part, ...] = ()

    @property
    def specifier(self) -> SpecifierSet | None:
        if not self.parts:
            return None
        combined = SpecifierSet()
        for part in self.parts:
            combined &= part.specifier
        return combined

    @property
    def text(self) -> str | None:
        return str(self.specifier) if self.parts else None

    def describe(self) -> str:
        return " and ".join(f"{p.file} {p.field} '{p.specifier}'" for p in self.parts)


def read(app_dir: Path) -> Allowed:
    parts = [*_pyproject(app_dir), *_pipfile(app_dir)]
    return Allowed(tuple(parts))


def _pyproject(app_dir: Path) -> list[Part]:
    data = files.toml(app_dir, "pyproject.toml") or {}
    parts = []
    requires = files.table(data, "project").get("requires-python")
    if isinstance(requires, str):
        parts.append(_pep440(requires))
    python = files.table(data, "tool", "poetry", "dependencies").get("python")
    python = python.get("version") if isinstance(python, dict) else python
    if isinstance(python, str):
        parts.append(_poetry(python))
    return [part for part in parts if len(part.specifier)]  # "*" restricts nothing


def _pep440(text: str) -> Part:
    field = "project.requires-python"
    try:
        return Part("pyproject.toml", field, SpecifierSet(text))
    except InvalidSpecifier:
        raise SpecError(
            "pyproject.toml",
            field,
            f"'{excerpt(text, 60)}' is not a specifier",
            "write e.g. '>=3.11'",
        ) from None


def _poetry(text: str) -> Part:
    field = "tool.poetry.dependencies.python"
    try:
        return Part("pyproject.toml", field, SpecifierSet(poetry.to_pep440(text)))
    except (ValueError, InvalidSpecifier) as exc:
        raise SpecError(
            "pyproject.toml", field, f"'{excerpt(text, 60)}' is not a version constraint ({exc})",
            "write e.g. '^3.11' or '>=3.10,<3.14'",
        ) from None  # fmt: skip


def pipfile_version(app_dir: Path) -> str | None:
    """``[requires]`` ``python_full_version``, else ``python_version``, as written."""
    requires = files.table(files.toml(app_dir, "Pipfile"), "requires")
    for key in ("python_full_version", "python_version"):
        value = requires.get(key)
        if value is None or value == "*":
            continue
        if not isinstance(value, str) or not MINOR.match(value):
            raise SpecError(
                "Pipfile", f"requires.{key}", "is not a Python version", 'write e.g. "3.12"'
            )
        return value
    return None


def _pipfile(app_dir: Path) -> list[Part]:
    version = pipfile_version(app_dir) if files.app_file(app_dir, "Pipfile") else None
    if version is None:
        return []
    minor = _minor(version)
    return [Part("Pipfile", "requires.python_version", SpecifierSet(f"=={minor}.*"))]


def _minor(version: Any) -> str:
    match = MINOR.match(str(version))
    return match.group(0) if match else str(version)
