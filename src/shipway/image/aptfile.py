"""The ``Aptfile``: Debian packages an app needs in its image (Heroku's apt buildpack).

One or more package names per line, ``#`` comments and blank lines. Heroku's buildpack
also takes URLs of ``.deb`` files and ``:repo:`` lines; Shipway installs only from
Debian's own archive, whose signatures and hashes it checks, so those lines (and version
pins, paths, anything that is not a Debian package name) are refused with the line and
the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shipway.errors import Location, SpecError, excerpt
from shipway.spec import appfile

NAME = "Aptfile"
#: An Aptfile lists package names: a few KiB at most; anything larger is not one.
MAX_BYTES = 64 * 1024
#: Debian policy 5.6.1: lower-case letters, digits, + - . ; at least two characters.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


@dataclass(frozen=True)
class AptPackage:
    name: str
    where: Location


def read_aptfile(app_dir: Path) -> list[AptPackage] | None:
    """The packages the app's Aptfile names, in order, each once; None without one.
    Read as every app file is (contained, regular, bounded: ``spec.appfile``)."""
    text = appfile.read_text(app_dir, NAME, MAX_BYTES)
    return None if text is None else parse_aptfile(text, app_dir / NAME)


def parse_aptfile(text: str, file: Path) -> list[AptPackage]:
    found: dict[str, AptPackage] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.partition("#")[0].split()
        for word in words:
            where = Location(file, number)
            _check(word, where)
            found.setdefault(word, AptPackage(word, where))
    return list(found.values())


def _check(word: str, where: Location) -> None:
    """Refuse what Heroku's buildpack takes but Shipway does not, saying why."""
    if PACKAGE_NAME.fullmatch(word):
        return
    # A URL may carry a token: it is never repeated in the message.
    if "://" in word:
        raise SpecError(
            where,
            None,
            "URLs of .deb files are not supported (Shipway installs only from Debian's "
            "signed archive)",
            "name the Debian package instead",
        )
    if word.startswith(":repo:"):
        raise SpecError(
            where,
            None,
            "extra apt repositories (:repo:) are not supported",
            "name packages of Debian's main archive only",
        )
    if "/" in word or word.endswith(".deb"):
        raise SpecError(
            where, None, "paths to .deb files are not supported", "name the Debian package"
        )
    if "=" in word or ":" in word:
        raise SpecError(
            where,
            None,
            f"{excerpt(word)!r}: version pins and architectures are not supported",
            "write the package name alone, e.g. libpq5",
        )
    raise SpecError(
        where,
        None,
        f"{excerpt(word)!r} is not a Debian package name",
        "use lower-case letters, digits and + - . (e.g. libpq5)",
    )
