"""Debian's control-file format: the paragraphs of ``Release``, ``Packages`` and dpkg's
``status``, and the relation fields (``Depends``) inside them.

A ``Packages`` index is ~50 MB of text, so paragraphs keep only the fields asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from shipway.errors import ShipwayError

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
#: What follows a package name in a relation: a version, architectures, build profiles.
QUALIFIERS = re.compile(r"\([^)]*\)|\[[^]]*\]|<[^>]*>")


def paragraphs(text: str, keep: frozenset[str] | None = None) -> Iterator[dict[str, str]]:
    """Each paragraph's fields (multi-line values joined with newlines), names as written."""
    for block in PARAGRAPH_BREAK.split(text):
        fields: dict[str, str] = {}
        current: str | None = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t"):
                if current is not None:
                    fields[current] += "\n" + line[1:]
                continue
            if line.startswith("#") or ":" not in line:
                current = None
                continue
            name, _, value = line.partition(":")
            current = name if keep is None or name in keep else None
            if current is not None:
                fields[current] = value.strip()
        if fields:
            yield fields


def relations(value: str) -> tuple[tuple[str, ...], ...]:
    """``a (>= 1), b | c:any`` as ((a,), (b, c)): version constraints are dropped (a base
    image and its index come from the same suite) and so are architecture qualifiers."""
    groups = []
    for group in value.split(","):
        names = []
        for alternative in group.split("|"):
            name = QUALIFIERS.sub("", alternative).strip().partition(":")[0]
            if name:
                names.append(name)
        if names:
            groups.append(tuple(names))
    return tuple(groups)


def provided(value: str) -> tuple[str, ...]:
    """A ``Provides`` field's names, without their versions."""
    return tuple(name for group in relations(value) for name in group)


@dataclass(frozen=True)
class IndexFile:
    path: str
    sha256: str
    size: int


def release_files(release: str, where: str) -> dict[str, IndexFile]:
    """The files a ``Release`` file lists under ``SHA256``, by path."""
    fields = next(paragraphs(release, frozenset({"SHA256"})), {})
    if "SHA256" not in fields:
        raise ShipwayError(f"{where}: the Release file lists no SHA256 hashes; use another mirror")
    files = {}
    for line in fields["SHA256"].splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            files[parts[2]] = IndexFile(parts[2], parts[0].lower(), int(parts[1]))
    return files
