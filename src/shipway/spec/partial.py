"""Partial specs: what one file says about an app, field by field, with its origin.

Each loader turns its file into a ``Partial``: a flat map from a field path such as
``("processes", "web", "command")`` to the value and where it was written. Merging
partials field by field lets a Procfile give the commands while ``app.json`` gives the
replicas, and lets two files that disagree on one field be reported precisely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shipway.errors import Location, SpecError, excerpt, validation_message
from shipway.spec.documents import dotted
from shipway.spec.model import MAX_PROCESSES, MAX_REPLICAS, AppSpec

FieldPath = tuple[str, ...]
#: Fields whose values are config vars: errors name their keys and lines, never values.
SECRET_FIELDS = frozenset({"env"})


@dataclass(frozen=True)
class Sourced:
    value: Any
    where: Location


Partial = dict[FieldPath, Sourced]


def merge(partials: list[Partial]) -> Partial:
    """Combine partials; the same field with two different values is an error."""
    merged: Partial = {}
    for partial in partials:
        for path, item in partial.items():
            seen = merged.get(path)
            if seen is not None and seen.value != item.value:
                raise SpecError(
                    item.where,
                    dotted(path),
                    _disagreement(path, item, seen),
                    "keep this setting in one file only",
                )
            merged.setdefault(path, item)
    return merged


def _disagreement(path: FieldPath, item: Sourced, seen: Sourced) -> str:
    if path[0] in SECRET_FIELDS:
        return f"differs from the value {seen.where} gives"
    mine, theirs = (excerpt(repr(v)) for v in (item.value, seen.value))
    return f"says {mine} but {seen.where} says {theirs}"


def build(partial: Partial) -> AppSpec:
    """Validate the merged fields into an ``AppSpec``, reporting the first bad field."""
    nested: dict[str, Any] = {}
    for path, item in sorted(partial.items(), key=lambda kv: kv[0]):
        node = nested
        for depth, key in enumerate(path[:-1], start=1):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise _shape_error(item, path[:depth])
        if isinstance(node.get(path[-1]), dict):
            if not isinstance(item.value, dict):
                raise _shape_error(item, path)
            node[path[-1]].update(item.value)
        else:  # a copy: the dict is filled in by the fields beneath it
            node[path[-1]] = dict(item.value) if isinstance(item.value, dict) else item.value
    try:
        return AppSpec.model_validate(nested)
    except ValidationError as exc:
        raise _explain(exc, partial) from None


def _shape_error(item: Sourced, path: FieldPath) -> SpecError:
    return SpecError(
        item.where,
        dotted(path),
        "is given both as a value and as a mapping",
        "check it against the shipway.yaml reference in the README",
    )


def _explain(exc: ValidationError, partial: Partial) -> SpecError:
    error = exc.errors()[0]
    loc = tuple(str(p) for p in error["loc"] if not _is_type_tag(p))
    where = _nearest(loc, partial)
    message = str(error["msg"])  # for env: pydantic names a type or pattern, never the value
    if error["type"] == "literal_error" and loc[:1] == ("services",) and len(loc) > 1:
        message = f"unknown addon '{excerpt(loc[1])}'"
    problem, fix = validation_message(message, _fix_for(error, loc))
    return SpecError(where, dotted(loc) or None, problem, fix)


def _is_type_tag(part: Any) -> bool:
    # pydantic inserts union member names ("str", "list[str]") and "[key]" into locations
    return isinstance(part, str) and (part in {"str", "list[str]", "[key]"} or "[" in part)


def _nearest(loc: tuple[str, ...], partial: Partial) -> Location | str:
    for end in range(len(loc), 0, -1):
        prefix = loc[:end]
        for path, item in partial.items():
            if path[:end] == prefix:
                return item.where
    files = sorted({str(item.where.file.name) for item in partial.values()})
    return files[0] if files else "app"


FIXES = {
    ("name",): "use lower-case letters, digits and '-', at most 40 characters",
    ("services",): "use one of mongodb, postgresql, redis",
    ("env",): "config var names are letters, digits and '_', not starting with a digit",
    ("processes",): "process names are lower-case letters, digits and '-'",
    ("domains",): "write a host name such as app.example.com",
    ("healthcheck",): "write a URL path starting with '/'",
    ("port",): "use a TCP port between 1 and 65535",
}


#: Fixes for an error type at a field (``*``: any field), before those of ``FIXES``.
TYPE_FIXES = {
    ("missing", ("name",)): "add 'name: <app-name>' to shipway.yaml, "
    "or run from a directory named like the app",
    ("extra_forbidden", "*"): "remove it or check its spelling against the README's "
    "shipway.yaml reference",
    ("too_long", ("processes",)): f"declare at most {MAX_PROCESSES} process types",
}


def _fix_for(error: Any, loc: tuple[str, ...]) -> str:
    for (kind, where), fix in TYPE_FIXES.items():
        if error["type"] == kind and where in ("*", loc):
            return fix
    if error["type"] == "literal_error" and loc[:1] == ("services",):
        return FIXES[("services",)]
    if loc[-1:] == ("replicas",):
        return f"use a whole number from 0 to {MAX_REPLICAS}"
    for key, fix in FIXES.items():
        if loc[: len(key)] == key:
            return fix
    return "correct the value"
