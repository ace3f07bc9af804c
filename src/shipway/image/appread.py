"""Bounded, contained reads of the files that describe an app's dependencies.

Requirement files, lock files and ``pyproject.toml`` come from the app's author (and,
once the server exists, from anyone who pushes): every path they name must stay inside
the app directory after symlinks are resolved, and every file is read with a size cap,
so a file can neither make the builder read ``/etc`` nor exhaust its memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from shipway.detect import files
from shipway.detect.files import table
from shipway.errors import SpecError

__all__ = ["contained", "digest_path", "read_json", "read_text", "read_toml", "table"]

#: Lock files of large apps reach a few MiB; nothing legitimate comes near this.
MAX_BYTES = 16 * 1024 * 1024


def contained(root: Path, base: str, value: str, limit: Path | None = None) -> str | None:
    """``value`` (relative to the ``root``-relative ``base``, or absolute) as a POSIX path
    relative to ``root`` (resolved), if it stays inside ``limit`` (default: ``root``)
    once symlinks are resolved; ``../`` appears only when ``limit`` is wider."""
    if not value or value.startswith("~"):
        return None
    root = root.resolve()  # the app may be given as a relative path, or through a link
    path = Path(value) if os.path.isabs(value) else root / base / value
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    if not real.is_relative_to((limit or root).resolve()):
        return None
    return Path(os.path.relpath(real, root)).as_posix()


def read_text(root: Path, rel: str, limit: Path | None = None, most: int = MAX_BYTES) -> str:
    """The UTF-8 text of the ``root``-relative file ``rel``, at most ``most`` bytes; a
    one-line error if it cannot be read, or is outside ``limit`` (default: ``root``)."""
    file = root / rel
    if contained(root, ".", rel, limit) is None:
        raise SpecError(rel, None, "is outside the app directory", "keep the file inside it")
    if not file.exists():
        raise SpecError(rel, None, "does not exist", "add it, or remove what names it")
    return files.read(file, rel, most)


def read_toml(root: Path, rel: str) -> dict[str, Any]:
    """Lock files are read whole (they run to megabytes, beyond the bounds of
    description files), so only what would crash the parser is caught here."""
    try:
        return tomllib.loads(read_text(root, rel))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(rel, None, f"invalid TOML ({exc})", "fix its syntax") from None
    except (RecursionError, ValueError) as exc:
        raise _unparsable(rel, exc) from None


def read_json(root: Path, rel: str) -> Any:
    try:
        return json.loads(read_text(root, rel))
    except json.JSONDecodeError:
        raise SpecError(rel, None, "is not valid JSON", "fix its syntax") from None
    except (RecursionError, ValueError) as exc:
        raise _unparsable(rel, exc) from None


def _unparsable(rel: str, exc: Exception) -> SpecError:
    """A document nested past the interpreter's recursion limit, or holding a number of
    thousands of digits."""
    problem = (
        "is nested too deeply" if isinstance(exc, RecursionError) else "holds a number too long"
    )
    return SpecError(rel, None, problem, "fix the file (lock again)")


def digest_path(
    digest: Any, root: Path, rel: str, limit: Path | None = None, most: int = 4096
) -> None:
    """Feed the ``root``-relative file, or each file of the directory, into ``digest``."""
    path = root / rel
    if not path.exists():
        raise SpecError(rel, None, "does not exist", "add it, or remove what names it")
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if len(files) > most:
        raise SpecError(rel, None, f"holds more than {most} files", "keep fewer there")
    for file in files:
        label = contained(root, ".", str(file), limit)
        if label is None:
            raise SpecError(rel, None, "links outside the app directory", "copy the file in")
        digest.update(label.encode() + b"\0")
        with file.open("rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())
