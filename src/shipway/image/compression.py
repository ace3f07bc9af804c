"""Reading the compressed streams images and Debian packages use: gzip, xz and zstd.

Python reads gzip and xz itself. zstd (newer images' layers, and the ``.deb`` files of
some distributions) is read with the ``zstandard`` module when it is installed, else with
the ``zstd`` command, else the build stops and says what to install.
"""

from __future__ import annotations

import gzip
import importlib
import lzma
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, cast

from shipway.errors import ShipwayError


@contextmanager
def decompressed(source: IO[bytes], kind: str) -> Iterator[IO[bytes]]:
    """``source`` read through the decompressor for ``kind``: gz, xz, zst or '' (none)."""
    if kind == "":
        yield source
    elif kind == "gz":
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
def open_layer(blob: Path, media_type: str) -> Iterator[IO[bytes]]:
    """An image layer's tar stream, by its media type (``...tar+gzip``, ``+zstd``, ``tar``)."""
    kind = "zst" if "zstd" in media_type else "gz" if "gzip" in media_type else ""
    with blob.open("rb") as raw, decompressed(raw, kind) as stream:
        yield stream


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
        yield process.stdout
        while process.stdout.read(1 << 20):  # the tar's padding: zstd must finish
            pass
        feeder.join()
    if process.returncode != 0:
        raise ShipwayError("zstd could not decompress the data: it is damaged")


def _feed(source: IO[bytes], sink: IO[bytes]) -> None:
    """Copy into the process from a thread, so neither pipe fills and blocks the other."""
    try:
        shutil.copyfileobj(source, sink, 1 << 20)
    except (OSError, ValueError):
        pass  # the reader stopped early (its pipe closed); its own error says why
    finally:
        with suppress(OSError, ValueError):
            sink.close()
