"""Unpacking a ``.deb`` without dpkg, chroot or root: its files, never its scripts.

A ``.deb`` is an ``ar`` archive of ``control.tar.*`` (metadata, maintainer scripts) and
``data.tar.*`` (the files). Nothing an archive names is ever used as a path on this
machine: each regular file is copied to a numbered file in a staging directory, so no
entry can write outside it, whatever links it sets up first. Names are checked too, for
the image's sake: absolute names, ``..`` and relative links that climb out of the root
make the package refused; device nodes and FIFOs are skipped (a container has its own).
Decompression and the tars are read within the bounds of ``compression``.
"""

from __future__ import annotations

import io
import posixpath
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from shipway.errors import ShipwayError
from shipway.image.compression import TarStream, decompressed, entry_path, read_tar

AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60
#: Bounds on one package: Debian's largest are a few GB unpacked and ~100k files.
MAX_ENTRIES = 200_000
MAX_BYTES = 8 << 30
MAX_CONTROL = 4 << 20
SUFFIXES = {".xz": "xz", ".gz": "gz", ".zst": "zst", "": ""}


@dataclass(frozen=True)
class Member:
    """One entry of the package's files; ``name`` is relative to the image root."""

    name: str
    kind: Literal["file", "dir", "link"]
    source: Path | None = None
    link: str | None = None
    executable: bool = False


@dataclass
class DebContents:
    control: str = ""
    md5sums: bytes | None = None
    members: list[Member] = field(default_factory=list)


def extract_deb(deb: Path, staging: Path, label: str) -> DebContents:
    """The control paragraph, md5sums and files of ``deb``, regular files staged in
    ``staging`` (an empty directory). ``label`` names the package in errors."""
    contents = DebContents()
    with deb.open("rb") as handle:
        members = _ar_members(handle, label)
        with _tar(handle, members, "control.tar", label) as tar:
            _read_control(tar, contents)
        with _tar(handle, members, "data.tar", label) as tar:
            _extract(tar, staging, label, contents.members)
    return contents


def _ar_members(handle: IO[bytes], label: str) -> dict[str, tuple[int, int]]:
    if handle.read(len(AR_MAGIC)) != AR_MAGIC:
        raise ShipwayError(f"{label}: the downloaded .deb is not an ar archive")
    members = {}
    while header := handle.read(AR_HEADER):
        if len(header) < AR_HEADER or not header[48:58].strip().isdigit():
            raise ShipwayError(f"{label}: the downloaded .deb is truncated")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58])
        members[name] = (handle.tell(), size)
        handle.seek(size + size % 2, io.SEEK_CUR)
    return members


@contextmanager
def _tar(
    handle: IO[bytes], members: dict[str, tuple[int, int]], stem: str, label: str
) -> Iterator[TarStream]:
    """The tar of the ar member ``stem`` (``data.tar``: ``data.tar.xz``, ``.gz`` ...), read
    in place and decompressed within Shipway's bounds."""
    for suffix, kind in SUFFIXES.items():
        if stem + suffix in members:
            offset, size = members[stem + suffix]
            where = f"{label}: {stem}{suffix}"
            raw = io.BufferedReader(_Slice(handle, offset, size))
            with decompressed(raw, kind, where, size) as stream, read_tar(stream, where) as tar:
                yield tar
            return
    raise ShipwayError(f"{label}: the .deb has no {stem}.xz, .gz or .zst member")


class _Slice(io.RawIOBase):
    """``size`` bytes of ``handle`` from ``offset``: one ar member, read in place."""

    def __init__(self, handle: IO[bytes], offset: int, size: int):
        self.handle, self.position, self.left = handle, offset, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self.handle.seek(self.position)
        data = self.handle.read(min(len(buffer), self.left))
        buffer[: len(data)] = data
        self.position += len(data)
        self.left -= len(data)
        return len(data)


def _read_control(tar: TarStream, contents: DebContents) -> None:
    for member in tar:
        name = posixpath.normpath(member.name)
        if member.isfile() and member.size <= MAX_CONTROL and name in ("control", "md5sums"):
            raw = tar.data(member).read()
            if name == "control":
                contents.control = raw.decode("utf-8", "replace").strip()
            else:
                contents.md5sums = raw


def _extract(tar: TarStream, staging: Path, label: str, out: list[Member]) -> None:
    staged: dict[str, Member] = {}
    total = 0
    for count, member in enumerate(tar):
        total += member.size if member.isreg() else 0
        if count >= MAX_ENTRIES or total > MAX_BYTES:
            raise ShipwayError(
                f"{label}: the .deb is larger than Shipway unpacks ({MAX_ENTRIES} entries, "
                f"{MAX_BYTES >> 30} GiB)"
            )
        name = safe_name(member.name, label)
        if name is None:  # the root entry "./"
            continue
        if member.islnk():
            out.append(_hardlink(name, member.linkname, staged, label))
        elif member.isdir():
            out.append(Member(name, "dir"))
        elif member.issym():
            out.append(Member(name, "link", link=safe_link(name, member.linkname, label)))
        elif member.isreg():
            target = staging / str(count)
            with tar.data(member) as source, target.open("xb") as sink:
                shutil.copyfileobj(source, sink)
            staged[name] = Member(name, "file", target, executable=bool(member.mode & 0o111))
            out.append(staged[name])
        # device nodes and FIFOs are skipped: a container runtime makes its own


def safe_name(raw: str, label: str) -> str | None:
    """The entry's path relative to the root; None for the root itself."""
    name = entry_path(raw)
    if name is None:
        raise _unsafe(label, raw)
    return name or None


def safe_link(name: str, target: str, label: str) -> str:
    """Absolute targets resolve inside the image's root; relative ones must stay in it."""
    if not target or "\0" in target:
        raise _unsafe(label, name)
    if not target.startswith("/"):
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if resolved == ".." or resolved.startswith("../"):
            raise _unsafe(label, f"{name} -> {target}")
    return target


def _hardlink(name: str, target: str, staged: dict[str, Member], label: str) -> Member:
    """A hard link is shipped as a second copy of the file it names in the same package."""
    original = staged.get(safe_name(target, label) or "")
    if original is None:
        raise _unsafe(label, f"{name} => {target}")
    return Member(name, "file", original.source, executable=original.executable)


def _unsafe(label: str, what: str) -> ShipwayError:
    return ShipwayError(
        f"{label}: the .deb holds an unsafe entry {what[:120]!r} (outside the root); "
        "Shipway refuses the package: remove it from the Aptfile"
    )
