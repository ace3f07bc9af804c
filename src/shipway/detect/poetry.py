"""Poetry's version constraints (``^3.10``, ``~3.11``, ``>=3.9 <3.13 || 3.8.*``) as PEP 440.

Poetry writes the Python an app accepts in its own syntax; the rest of Shipway speaks
PEP 440 specifiers (``packaging``). A union (``||``) has no PEP 440 form, so it becomes the
range of Python 3 minors it allows, with the minors it skips excluded: exact within minor
versions, which is the granularity base images are chosen at.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from shipway.detect.pyversion import MINOR_RANGE, minor_allowed
from shipway.errors import excerpt

VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
WILDCARD = re.compile(r"^\d+(\.\d+){0,1}\.\*$")
OPERATOR = re.compile(r"^(===|==|!=|~=|<=|>=|<|>|=)(.+)$")


def to_pep440(constraint: str) -> str:
    """The PEP 440 specifier Poetry's ``constraint`` means; ``ValueError`` if it is not one."""
    alternatives = [alt.strip() for alt in re.split(r"\|\|?", constraint)]
    sets = [SpecifierSet(_conjunction(alt)) for alt in alternatives]
    if len(sets) == 1:
        return str(sets[0])
    return _union(sets)


def _conjunction(alternative: str) -> str:
    # Poetry allows a space between an operator and its version: ">= 3.8, < 4".
    joined = re.sub(r"([<>=!~^]+)\s+", r"\1", alternative)
    terms = [term for term in re.split(r"[,\s]+", joined) if term]
    if not terms:
        raise ValueError("empty constraint")
    return ",".join(part for term in terms for part in _term(term))


def _term(term: str) -> list[str]:
    if term == "*":
        return []
    if term.startswith("^"):
        return _caret(_parts(term[1:]))
    if term.startswith("~") and not term.startswith("~="):
        return _tilde(_parts(term[1:]))
    if WILDCARD.match(term):
        return [f"=={term}"]
    if VERSION.match(term):
        return [f"=={term}.*" if term.count(".") < 2 else f"=={term}"]
    match = OPERATOR.match(term)
    if match is None:
        raise ValueError(f"'{excerpt(term)}' is not a version constraint")
    operator = "==" if match.group(1) == "=" else match.group(1)
    _check(f"{operator}{match.group(2)}")
    return [f"{operator}{match.group(2)}"]


def _parts(version: str) -> list[int]:
    if not VERSION.match(version):
        raise ValueError(f"'{excerpt(version)}' is not a version")
    return [int(part) for part in version.split(".")]


def _caret(parts: list[int]) -> list[str]:
    """``^1.2.3`` allows changes that do not modify the left-most non-zero part."""
    significant = next((i for i, part in enumerate(parts) if part), len(parts) - 1)
    upper = [*parts[:significant], parts[significant] + 1]
    return [f">={_dotted(parts)}", f"<{_dotted(upper)}"]


def _tilde(parts: list[int]) -> list[str]:
    """``~1.2.3`` allows patch changes; ``~1`` allows minor changes."""
    upper = [parts[0] + 1] if len(parts) == 1 else [parts[0], parts[1] + 1]
    return [f">={_dotted(parts)}", f"<{_dotted(upper)}"]


def _dotted(parts: list[int]) -> str:
    return ".".join(str(part) for part in parts)


def _check(specifier: str) -> None:
    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        raise ValueError(f"'{excerpt(specifier)}' is not a version constraint") from None


def _union(sets: list[SpecifierSet]) -> str:
    allowed = [m for m in MINOR_RANGE if any(minor_allowed(f"3.{m}", s) for s in sets)]
    if not allowed:
        raise ValueError("it allows no Python 3 version")
    low, high = allowed[0], allowed[-1]
    terms = [f">=3.{low}"]
    if high < MINOR_RANGE[-1]:
        terms.append(f"<3.{high + 1}")
    terms += [f"!=3.{m}.*" for m in range(low, high) if m not in allowed]
    return str(SpecifierSet(",".join(terms)))
