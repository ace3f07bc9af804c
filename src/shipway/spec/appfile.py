"""The one way Shipway reads a file of an app: contained, regular, bounded, UTF-8.

An app directory is untrusted input (once the server exists, anyone who pushes writes
it) on a machine that holds other teams' secrets. So every file read from it must still
be inside it once symbolic links are resolved, must be a regular file (a FIFO would
block the reader, a device never ends), and is read up to a size cap. Whatever goes
wrong is a one-line ``SpecError`` naming the file: never its content, never where a
link points.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from shipway.errors import SpecError

#: Description and detection files (Procfile, shipway.yaml, pyproject.toml, fly.toml…):
#: real ones are a few KiB; pure-Python YAML takes seconds per 256 KiB.
MAX_BYTES = 256 * 1024
#: Requirement files pinned with hashes (``pip-compile --generate-hashes``) run long.
MAX_REQUIREMENTS_BYTES = 4 * 1024 * 1024
#: The resolved file is opened without following a link (one swapped in since the check)
#: and without blocking on a FIFO; its type is then checked on the open file.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def locate(app_dir: Path, rel: str) -> Path | None:
    """The real path of the app's file ``rel``; ``None`` when the app has no such file.

    A file that resolves outside the app, a link loop, a dangling link, a directory or
    anything but a regular file where a file is expected is a ``SpecError``."""
    path = app_dir / rel
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        if path.is_symlink():
            _check_inside(app_dir, path.resolve(), rel, path)
            raise _error(
                rel, "is a link to a file that does not exist", "remove the link"
            ) from None
        return None
    except NotADirectoryError:  # a parent of ``rel`` is a file: no such file either
        return None
    except (RuntimeError, OSError) as exc:  # RuntimeError: Python < 3.13 on a link loop
        raise _unreadable(rel, exc) from None
    except ValueError:  # a NUL in a name taken from a command
        return None
    _check_inside(app_dir, real, rel, path)
    _check_regular(real, rel)
    return real


def read_text(app_dir: Path, rel: str, limit: int = MAX_BYTES) -> str | None:
    """The text of the app's file ``rel`` (see ``locate``), or ``None`` when absent."""
    real = locate(app_dir, rel)
    return None if real is None else read_file(real, rel, limit)


def read_file(file: Path, label: str, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of ``file`` (already checked to be in the app), read at most
    ``limit`` bytes; errors name ``label``."""
    try:
        fd = os.open(file.resolve(strict=True), OPEN_FLAGS)
    except (OSError, RuntimeError) as exc:
        raise _unreadable(label, exc) from None
    try:  # checked on the open file: the path may have changed since ``locate``
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _error(label, "is not a regular file", "replace it with a plain file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            raw = stream.read(limit + 1)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise _error(label, f"is larger than {limit // 1024} KiB", "make it smaller")
    try:
        return raw.decode("utf-8-sig")  # Windows editors start files with a BOM
    except UnicodeDecodeError:
        raise _error(label, "cannot be read as UTF-8 text", "save it as UTF-8") from None


def _check_inside(app_dir: Path, real: Path, rel: str, path: Path) -> None:
    if not real.is_relative_to(app_dir.resolve()):
        what = "links outside" if path.is_symlink() else "is outside"
        raise _error(rel, f"{what} the app directory", "copy the file into the app instead")


def _check_regular(real: Path, rel: str) -> None:
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        raise _unreadable(rel, exc) from None
    if stat.S_ISDIR(mode):
        raise _error(rel, "is a directory, not a file", "rename the directory")
    if not stat.S_ISREG(mode):
        raise _error(rel, "is not a regular file", "replace it with a plain file")


def _unreadable(rel: str, exc: BaseException) -> SpecError:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return _error(rel, "is a symbolic link loop", "replace the link with the file")
    return _error(rel, "cannot be read", "check the file's permissions")


def _error(rel: str, problem: str, fix: str) -> SpecError:
    return SpecError(rel, None, problem, fix)
