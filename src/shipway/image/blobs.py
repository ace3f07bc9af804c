"""A content-addressed store of blobs (layers, configs) on local disk.

Base image layers are downloaded once and kept by digest; built layers are written here
before they are pushed. Writing goes through a temporary file renamed into place, so a
blob that exists is always complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shipway.errors import ShipwayError

CHUNK = 1 << 20
#: The one digest form Shipway accepts: digests name files and URLs, so nothing else may
#: pass (``oci.checked_digest`` applies it to what registries answer).
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def cache_dir() -> Path:
    explicit = os.environ.get("SHIPWAY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shipway"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def sha256_bytes(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class HashingWriter:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target: BinaryIO | HashingWriter):
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()

    @property
    def digest(self) -> str:
        return f"sha256:{self.hash.hexdigest()}"


class BlobStore:
    def __init__(self, root: Path | None = None):
        self.root = root or cache_dir() / "blobs"

    def path(self, digest: str) -> Path:
        """Where the blob lives; only a well-formed digest names a file here."""
        if not DIGEST.fullmatch(digest):
            raise ShipwayError(
                f"{digest[:40]!r} is not a sha256 digest; nothing is read or written"
            )
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / algorithm / hexdigest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put_bytes(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        if not self.has(digest):
            with self.writer() as (out, commit):
                out.write(data)
                commit(digest)
        return digest

    @contextmanager
    def writer(self) -> Iterator[tuple[BinaryIO, Callable[[str], None]]]:
        """A temporary file; call ``commit(digest)`` to move it into the store."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        committed: list[str] = []
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle, committed.append
            if committed:
                final = self.path(committed[0])
                final.parent.mkdir(parents=True, exist_ok=True)
                # A blob is named by its content: one already there is this one. Renaming
                # over it would also cost a flush (ext4 syncs data renamed over a file).
                if not final.is_file():
                    os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def verify(self, digest: str) -> None:
        if sha256_file(self.path(digest)) != digest:
            self.path(digest).unlink()
            raise ShipwayError(
                f"cached blob {digest[:19]} was corrupt and is removed; run the build again"
            )


def copy_into(source: BinaryIO, out: BinaryIO) -> str:
    hashing = HashingWriter(out)
    while chunk := source.read(CHUNK):
        hashing.write(chunk)
    return hashing.digest
