"""Reading the compressed streams images and Debian packages use (gzip, xz and zstd) and
the tars inside them, within bounds: a layer from a registry, a package from a mirror or
a build step's output is untrusted, so none may expand or grow without limit.

Python reads gzip and xz itself. zstd (newer images' layers, and the ``.deb`` files of
some distributions) is read with the ``zstandard`` module when it is installed, else with
the ``zstd`` command, else the build stops and says what to install.

The bounds (the README lists them):

* A compressed stream may expand to ``MAX_RATIO`` times its compressed size, or
  ``MIN_EXPANDED`` if that is more, and never past ``MAX_EXPANDED`` (or a caller's smaller
  cap). Beyond that it is a decompression bomb: refused, in one line naming it and the
  bound. Real layers and packages expand 2 to 20 times.
* A tar is read front to back and keeps no index of its entries, so memory stays flat;
  it may hold ``MAX_TAR_ENTRIES`` entries, an entry's extended header (pax, GNU long
  names) ``MAX_TAR_HEADER`` bytes, a name ``PATH_MAX`` bytes; sparse entries (which no
  image or package uses) are refused.
* An entry's name must stay inside the archive's root (``entry_path``): no absolute
  name, no ``..``. What each reader does with links is its own, since none of them ever
  writes an entry's name as a path on this machine.
"""

from __future__ import annotations

import gzip
import importlib
import io
import lzma
import posixpath
import shutil
import subprocess
import tarfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Self, cast

from shipway.errors import ShipwayError

MAX_RATIO = 100
MIN_EXPANDED = 64 << 20
MAX_EXPANDED = 16 << 30
MAX_TAR_ENTRIES = 1_000_000
MAX_TAR_HEADER = 1 << 20
#: The kernel's limit on a path: no real entry's name or link target is longer.
PATH_MAX = 4096
CHUNK = 1 << 20
#: Header types whose body tarfile reads whole into memory.
_EXTENDED = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}
_EXTENDED |= {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
#: What a damaged stream raises from the decompressors and tarfile.
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def expansion_limit(compressed: int, cap: int = MAX_EXPANDED) -> int:
    """How many bytes ``compressed`` bytes of data may expand to."""
    return min(cap, max(MIN_EXPANDED, MAX_RATIO * compressed))


@contextmanager
def decompressed(
    source: IO[bytes],
    kind: str,
    label: str = "compressed data",
    size: int = 0,
    cap: int = MAX_EXPANDED,
) -> Iterator[IO[bytes]]:
    """``source`` (``size`` bytes, named ``label`` in errors) read through the
    decompressor for ``kind``: gz, xz, zst or '' (none), at most ``expansion_limit``."""
    if kind == "":
        yield source
        return
    limit = expansion_limit(size, cap)
    bomb = (
        f"{label}: expands to more than {_size(limit)} from {_size(size)}; Shipway reads "
        f"data that expands at most {MAX_RATIO} times (at least {_size(MIN_EXPANDED)}, "
        f"never over {_size(cap)}): refused as a decompression bomb"
    )
    with _decompressor(source, kind) as raw:
        stream = io.BufferedReader(_Bounded(raw, limit, label, bomb), CHUNK)
        yield cast(IO[bytes], stream)
        # The rest (a tar's padding) is read too, within the bound: the decompressor
        # checks the stream's end, so a truncated stream is an error, not a short file.
        while stream.read(CHUNK):
            pass


@contextmanager
def open_layer(blob: Path, media_type: str) -> Iterator[IO[bytes]]:
    """An image layer's tar stream, by its media type (``...tar+gzip``, ``+zstd``, ``tar``)."""
    kind = "zst" if "zstd" in media_type else "gz" if "gzip" in media_type else ""
    label = f"image layer {blob.name[:16]}"
    with blob.open("rb") as raw, decompressed(raw, kind, label, blob.stat().st_size) as stream:
        yield stream


class _Bounded(io.RawIOBase):
    """A decompressed stream that fails once it has given ``limit`` bytes: the check is
    made as the bytes come, so a bomb never fills memory or disk first."""

    def __init__(self, stream: IO[bytes], limit: int, label: str, bomb: str):
        self.stream, self.limit, self.label, self.bomb = stream, limit, label, bomb
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self.stream.read(min(len(buffer), self.limit + 1 - self.given))
        except _DAMAGED as exc:
            raise ShipwayError(f"{self.label}: not a valid archive ({exc})") from None
        self.given += len(data)
        if self.given > self.limit:
            raise ShipwayError(self.bomb)
        buffer[: len(data)] = data
        return len(data)


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.4g} {unit}"
    return f"{count} bytes"


@contextmanager
def _decompressor(source: IO[bytes], kind: str) -> Iterator[IO[bytes]]:
    if kind == "gz":
        with gzip.GzipFile(fileobj=source, mode="rb") as stream:
            yield cast(IO[bytes], stream)
    elif kind == "xz":
        with lzma.LZMAFile(source, mode="rb") as stream:
            yield cast(IO[bytes], stream)
    elif kind == "zst":
        with _zstd(source) as stream:
            yield stream
    else:
        raise ValueError(f"unknown compression {kind!r}")


@contextmanager
def _zstd(source: IO[bytes]) -> Iterator[IO[bytes]]:
    try:  # optional, and without type hints: the zstd command does the same
        zstandard = importlib.import_module("zstandard")
    except ImportError:
        pass
    else:
        with zstandard.ZstdDecompressor().stream_reader(source) as stream:
            yield cast(IO[bytes], stream)
        return
    command = shutil.which("zstd")
    if command is None:
        raise ShipwayError(
            "reading zstd-compressed data needs the zstd command or the zstandard Python "
            "module; install one (apt-get install zstd, or pip install zstandard)"
        )
    with subprocess.Popen(
        [command, "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        feeder = threading.Thread(target=_feed, args=(source, process.stdin), daemon=True)
        feeder.start()
        try:
            yield process.stdout
        except BaseException:
            # The reader stopped (a bomb, a bad entry): zstd must not wait on its pipe.
            process.kill()
            raise
        finally:
            feeder.join()
    if process.returncode != 0:
        raise ShipwayError("zstd could not decompress the data: it is damaged")


def _feed(source: IO[bytes], sink: IO[bytes]) -> None:
    """Copy into the process from a thread, so neither pipe fills and blocks the other."""
    try:
        shutil.copyfileobj(source, sink, CHUNK)
    except (OSError, ValueError):
        pass  # the reader stopped early (its pipe closed); its own error says why
    finally:
        with suppress(OSError, ValueError):
            sink.close()


class _Refused(tarfile.TarError):
    """An entry Shipway does not read; tarfile lets this through as it is."""


class _BoundedInfo(tarfile.TarInfo):
    """Checks each header before tarfile reads what it announces."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _EXTENDED and info.size > MAX_TAR_HEADER:
            raise _Refused(
                f"an extended header of {_size(info.size)} (over {_size(MAX_TAR_HEADER)})"
            )
        if info.type == tarfile.GNUTYPE_SPARSE:
            raise _Refused("a sparse entry")
        return info


class _StreamTar(tarfile.TarFile):
    tarinfo = _BoundedInfo
    #: tarfile's index of the entries read so far (not in its type stubs).
    members: list[tarfile.TarInfo]


@contextmanager
def read_tar(stream: IO[bytes], label: str) -> Iterator[TarStream]:
    """The tar in ``stream``, read front to back; a damaged or refused archive is a
    one-line error naming ``label``."""
    try:
        with _StreamTar.open(fileobj=stream, mode="r|") as tar:
            yield TarStream(tar)
    except _Refused as exc:
        raise ShipwayError(f"{label}: the archive holds {exc}; Shipway refuses it") from None
    except _DAMAGED as exc:
        raise ShipwayError(f"{label}: not a valid archive ({exc})") from None


class TarStream:
    """A tar's entries in order; an entry's data can be read while it is the current one."""

    def __init__(self, tar: _StreamTar):
        self._tar = tar

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        count = 0
        while (info := self._tar.next()) is not None:
            count += 1
            if count > MAX_TAR_ENTRIES:
                raise _Refused(f"more than {MAX_TAR_ENTRIES} entries")
            if len(info.name.encode()) > PATH_MAX or len(info.linkname.encode()) > PATH_MAX:
                raise _Refused(f"a name longer than {PATH_MAX} bytes")
            # Streamed, the tar never goes back: the index tarfile keeps would only grow.
            self._tar.members.clear()
            yield info

    def data(self, info: tarfile.TarInfo) -> IO[bytes]:
        """The current entry's bytes (a regular file's; empty for anything else)."""
        data = self._tar.extractfile(info) if info.isfile() else None
        return data if data is not None else io.BytesIO()


def entry_path(raw: str) -> str | None:
    """A tar entry's name relative to the archive's root (``./usr/x`` and ``usr/x`` alike;
    '' for the root itself), or None when it is unsafe: absolute, with a ``..`` part or a
    NUL. Python's tarfile ``data`` filter refuses the same names."""
    if raw.startswith("/") or ".." in raw.split("/") or "\0" in raw:
        return None
    name = posixpath.normpath(raw)
    return "" if name == "." else name
