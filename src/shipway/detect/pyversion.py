"""Python version requests as version files write them, and minor-version arithmetic.

pyenv, uv, asdf and Heroku spell a CPython version many ways (``3.12``, ``3.12.4``,
``cpython-3.12.4``, ``python-3.12``, ``cpython@3.12``, ``>=3.11``). Each word of such a
file becomes a ``Request``: an exact version, a specifier, or the reason it is neither.
Base images are chosen per minor version, hence the helpers on minors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from shipway.errors import excerpt
from shipway.spec.model import SUPPORTED_PYTHON

#: Python 3 minors considered when a constraint is reduced to minors (3.0 to 3.39).
MINOR_RANGE = tuple(range(40))
#: Patch releases tried when asking whether a constraint allows a minor version.
PATCHES = range(100)
CPYTHON = re.compile(
    r"^(?:(?P<prefix>c?python|cp)[-@]?)?(?P<version>\d+(?:\.\d+){0,2})(?P<rest>.*)$", re.I
)
PLATFORM_SUFFIX = re.compile(r"^-[a-z0-9_]+(-[a-z0-9_]+)*$", re.I)
#: Words that name an interpreter other than CPython.
OTHER_INTERPRETERS = re.compile(
    r"^(pypy|graalpy|pyston|jython|ironpython|micropython|stackless|(mini|ana)?conda|mamba)",
    re.I,
)


@dataclass(frozen=True)
class Request:
    """One word of a version file, at a 1-based line."""

    text: str
    line: int
    version: str | None = None
    specifier: SpecifierSet | None = None
    problem: str | None = None


def parse(word: str, line: int) -> Request:
    if word.startswith(("<", ">", "=", "!", "~")):
        return _specifier(word, line)
    match = CPYTHON.match(word)
    problem = _problem(word, match)
    if problem or match is None:
        return Request(word, line, problem=problem or f"'{excerpt(word)}' is not a Python version")
    version = match.group("version")
    if "." not in version:
        return Request(word, line, specifier=SpecifierSet(f"=={version}.*"))
    return Request(word, line, version=version)


def _problem(word: str, match: re.Match[str] | None) -> str | None:
    if OTHER_INTERPRETERS.match(word):
        return f"'{excerpt(word)}' is not CPython; Shipway runs CPython"
    if match is None:
        return f"'{excerpt(word)}' is not a Python version"
    rest = match.group("rest")
    if rest.startswith("/"):
        return f"'{excerpt(word)}' names a pyenv virtualenv; write its Python version instead"
    if rest and not (match.group("prefix") and PLATFORM_SUFFIX.match(rest)):
        return f"'{excerpt(word)}' is not a CPython release"
    return None


def _specifier(word: str, line: int) -> Request:
    try:
        return Request(word, line, specifier=SpecifierSet(word))
    except InvalidSpecifier:
        return Request(word, line, problem=f"'{excerpt(word)}' is not a version specifier")


def minor_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split(".")[:2])


def minor_allowed(minor: str, allowed: SpecifierSet | None) -> bool:
    """Whether some release of ``minor`` (e.g. ``3.12``) satisfies ``allowed``."""
    if allowed is None:
        return True
    return any(allowed.contains(f"{minor}.{patch}") for patch in PATCHES)


def version_allowed(version: str, allowed: SpecifierSet | None) -> bool:
    """An exact ``3.12.4`` must satisfy ``allowed``; a bare ``3.12`` needs one release to."""
    if allowed is None:
        return True
    if version.count(".") < 2:
        return minor_allowed(version, allowed)
    try:
        return allowed.contains(Version(version))
    except InvalidVersion:
        return False


def supported_minors(allowed: SpecifierSet | None) -> list[str]:
    """The minors Shipway supports that ``allowed`` allows, oldest first."""
    minors = sorted(SUPPORTED_PYTHON, key=minor_key)
    return [minor for minor in minors if minor_allowed(minor, allowed)]


def preferred(allowed: SpecifierSet | None, default: str) -> str | None:
    """The supported minor closest to ``default`` that ``allowed`` allows, newer first."""
    minors = supported_minors(allowed)
    if not minors:
        return None
    target = minor_key(default)
    return min(minors, key=lambda m: (abs(minor_key(m)[1] - target[1]), minor_key(m) < target))
