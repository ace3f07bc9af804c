"""Source archives: what ``shipway deploy`` in remote mode uploads, and what the server
unpacks before it builds.

The archive holds exactly the files the image's app layer would (``.dockerignore``, else
``.gitignore``; never ``.git``, virtualenvs or caches: ``image.appfiles``' rules), as a
reproducible tar.gz: entries sorted, times, owners and the gzip header zeroed, modes
reduced to 0644/0755, so the same tree makes the same bytes.

Extraction trusts nothing in the archive. It refuses, with a one-line error, absolute
paths and ``..``; hard links, devices, FIFOs and anything but files, directories and
symbolic links; a symbolic link that is absolute or points outside the root (checked on
its text: links are made after every file, so no file is ever written through one) and
any entry below a link; names given twice; more than ``max_entries`` entries and more
than ``max_bytes`` unpacked (counted on the decompressed stream itself, so a gzip bomb
stops there, headers included). Files are made with ``O_EXCL | O_NOFOLLOW``, without
set-id bits, into a directory that must not exist yet.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import tarfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import IO, BinaryIO

from shipway.errors import ShipwayError, excerpt
from shipway.image.appfiles import app_entries
from shipway.image.layer import add_entry

#: Entries an uploaded archive may hold.
MAX_ENTRIES = 50_000
#: Bytes it may unpack to.
MAX_BYTES = 2 * 1024**3
_PREFIX = "app"
_CHUNK = 1024 * 1024


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"


class _Limited(io.RawIOBase):
    """A writable stream that refuses to grow past ``limit`` bytes."""

    def __init__(self, out: BinaryIO, limit: int):
        self.out, self.limit, self.size = out, limit, 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.size += len(data)
        if self.size > self.limit:
            raise ShipwayError(
                f"the app's source archive is larger than the server's limit of "
                f"{size_text(self.limit)}; add large files to .dockerignore"
            )
        return self.out.write(data)


def archive(app_dir: Path, out: BinaryIO, limit: int) -> int:
    """Write the app's source archive to ``out``; its size in bytes. Raises a
    ``ShipwayError`` as soon as it would pass ``limit`` bytes."""
    limited = _Limited(out, limit)
    entries = sorted(app_entries(app_dir, _PREFIX, owner=0), key=lambda e: e.name)
    with (
        gzip.GzipFile(fileobj=limited, mode="wb", mtime=0, filename="", compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for entry in entries:
            name = entry.name.removeprefix(_PREFIX).lstrip("/")
            if name:
                add_entry(tar, replace(entry, name=name))
    return limited.size


def make(app_dir: Path, limit: int) -> bytes:
    """The archive in memory (the CLI uploads it in one request)."""
    buffer = io.BytesIO()
    archive(app_dir, buffer, limit)
    return buffer.getvalue()


class _Bounded(io.RawIOBase):
    """The decompressed stream, refusing to yield more than ``limit`` bytes."""

    def __init__(self, source: gzip.GzipFile, limit: int):
        self.source, self.limit, self.seen = source, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        self.seen += len(data)
        if self.seen > self.limit:
            raise ShipwayError(
                f"source archive: unpacks to more than {size_text(self.limit)}; "
                "add large files to .dockerignore"
            )
        buffer[: len(data)] = data
        return len(data)


def extract(
    source: IO[bytes], dest: Path, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
) -> Path:
    """Unpack the tar.gz read from ``source`` into ``dest`` (made here: it must not exist)."""
    dest.mkdir(mode=0o700)
    # Tar headers and padding take room too: allow them on top of the files' bytes.
    bounded = _Bounded(gzip.GzipFile(fileobj=source, mode="rb"), max_bytes + 2048 * max_entries)
    try:
        with tarfile.open(fileobj=io.BufferedReader(bounded), mode="r|") as tar:
            _Unpacker(dest, max_entries, max_bytes).run(tar)
    except ShipwayError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeError) as exc:
        raise ShipwayError(
            f"source archive: not a readable tar.gz ({excerpt(str(exc) or type(exc).__name__)})"
        ) from None
    except OSError as exc:  # a file where the archive wants a directory, and the like
        raise ShipwayError(
            f"source archive: cannot be unpacked ({exc.strerror or type(exc).__name__})"
        ) from None
    return dest


class _Unpacker:
    def __init__(self, root: Path, max_entries: int, max_bytes: int):
        self.root, self.max_entries, self.max_bytes = root, max_entries, max_bytes
        self.count = self.total = 0
        self.names: set[str] = set()
        self.links: dict[str, str] = {}

    def run(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            self.count += 1
            if self.count > self.max_entries:
                raise ShipwayError(f"source archive: more than {self.max_entries} entries")
            name = self._checked_name(member.name)
            if member.issym():
                self._check_link(name, member.linkname)
                self.links[name] = member.linkname
            elif member.isdir():
                (self.root / name).mkdir(parents=True, exist_ok=True, mode=0o755)
            elif member.isreg():
                self._write(name, member, tar)
            else:
                raise ShipwayError(
                    f"source archive: {_quoted(name)}: only files, directories and symbolic "
                    "links are accepted (hard links, devices and FIFOs are not)"
                )
        # Links last: nothing is written through a link the archive made.
        for name, target in sorted(self.links.items()):
            if self._below_link(name):
                raise ShipwayError(f"source archive: {_quoted(name)} lies below a symbolic link")
            (self.root / name).parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            try:
                os.symlink(target, self.root / name)
            except FileExistsError:
                raise ShipwayError(f"source archive: {_quoted(name)} is given twice") from None

    def _checked_name(self, raw: str) -> str:
        name = raw.removeprefix("./").rstrip("/")
        parts = name.split("/")
        bad = not name or "\0" in name or raw.startswith("/") or len(name) > 4096
        if bad or any(p in ("", ".", "..") for p in parts):
            raise ShipwayError(
                f"source archive: {_quoted(raw)}: paths must be relative and stay inside "
                "the archive (no leading /, no ..)"
            )
        if name in self.names:
            raise ShipwayError(f"source archive: {_quoted(name)} is given twice")
        self.names.add(name)
        if self._below_link(name):
            raise ShipwayError(f"source archive: {_quoted(name)} lies below a symbolic link")
        return name

    def _below_link(self, name: str) -> bool:
        parts = name.split("/")
        return any("/".join(parts[:i]) in self.links for i in range(1, len(parts)))

    def _check_link(self, name: str, target: str) -> None:
        landed = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if not target or target.startswith("/") or landed == ".." or landed.startswith("../"):
            raise ShipwayError(
                f"source archive: {_quoted(name)}: the symbolic link points outside the "
                f"archive ({_quoted(target)})"
            )

    def _write(self, name: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        mode = 0o755 if member.mode & 0o111 else 0o644
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, mode)
        except FileExistsError:
            raise ShipwayError(f"source archive: {_quoted(name)} is given twice") from None
        except IsADirectoryError:
            raise ShipwayError(f"source archive: {_quoted(name)} is given twice") from None
        data = tar.extractfile(member)
        with os.fdopen(fd, "wb") as out:
            while data is not None and (chunk := data.read(_CHUNK)):
                self.total += len(chunk)
                if self.total > self.max_bytes:
                    raise ShipwayError(
                        f"source archive: unpacks to more than {size_text(self.max_bytes)}; "
                        "add large files to .dockerignore"
                    )
                out.write(chunk)


def _quoted(name: str) -> str:
    return repr(excerpt(name, 80))
