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

from shipway.errors import Location, SpecError

NAME = "Aptfile"
#: An Aptfile lists package names: a few KiB at most; anything larger is not one.
MAX_BYTES = 64 * 1024
#: Debian policy 5.6.1: lower-case letters, digits, + - . ; at least two characters.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


@dataclass(frozen=True)
class AptPackage:
    name: str
    where: Location


def aptfile_path(app_dir: Path) -> Path | None:
    """The app's Aptfile, or None; one that leads outside the app is an error."""
    path = app_dir / NAME
    if not path.exists() and not path.is_symlink():
        return None
    resolved = path.resolve()
    if not resolved.is_relative_to(app_dir.resolve()) or not resolved.is_file():
        raise SpecError(
            path, None, "is not a file inside the app directory", "make it a plain file"
        )
    return resolved


def read_aptfile(app_dir: Path) -> list[AptPackage] | None:
    """The packages the app's Aptfile names, in order, each once; None without one."""
    path = aptfile_path(app_dir)
    if path is None:
        return None
    data = path.read_bytes()[: MAX_BYTES + 1]
    if len(data) > MAX_BYTES:
        raise SpecError(
            path, None, f"is larger than {MAX_BYTES // 1024} KiB", "list package names only"
        )
    return parse_aptfile(data.decode("utf-8", errors="replace"), app_dir / NAME)


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
            f"{word!r}: version pins and architectures are not supported",
            "write the package name alone, e.g. libpq5",
        )
    raise SpecError(
        where,
        None,
        f"{word[:80]!r} is not a Debian package name",
        "use lower-case letters, digits and + - . (e.g. libpq5)",
    )
