"""What this machine has pushed, and where: a rebuild skips asking the registry about the
blobs it pushed before (the base image's layers, an unchanged dependencies layer).

One file per registry and repository (``$SHIPWAY_CACHE_DIR/pushed``), a digest a line,
written once a blob's push (an upload, a mount, or a HEAD that found it) succeeded. A
record can go stale (a registry's garbage collection, a repository deleted and made
again): the manifest push then fails as the registry does not know a blob, and the
builder forgets the repository's record and pushes again, asking about every blob
(``builder``). That relies on the registry checking the blobs a manifest names, as the
OCI distribution reference implementation (``distribution``) does; removing the
``pushed`` directory of ``$SHIPWAY_CACHE_DIR`` makes the next push ask again. Only
well-formed digests are read back; an unreadable file is no record.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from shipway.image.blobs import DIGEST, cache_dir

#: Digests kept per repository: once the file holds more, it keeps the newest half.
MAX_DIGESTS = 20_000


class Pushed:
    def __init__(self, base_url: str, repository: str, root: Path | None = None):
        key = hashlib.sha256(f"{base_url}/{repository}".encode()).hexdigest()[:32]
        self.path = (root or cache_dir() / "pushed") / f"{key}.txt"
        self._lock = threading.Lock()
        self._known = dict.fromkeys(self._read())
        self._new: list[str] = []

    def _read(self) -> list[str]:
        try:
            lines = self.path.read_text("ascii").split()
        except (OSError, UnicodeDecodeError):
            return []
        return [line for line in lines if DIGEST.fullmatch(line)]

    def has(self, digest: str) -> bool:
        return digest in self._known

    def add(self, digest: str) -> None:
        with self._lock:
            if digest not in self._known:
                self._known[digest] = None
                self._new.append(digest)

    def save(self) -> None:
        """Append what was added; a record too long keeps its newest half."""
        with self._lock:
            new, self._new = self._new, []
        if not new:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if len(self._known) > MAX_DIGESTS:
                kept = list(self._known)[-MAX_DIGESTS // 2 :]
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
                tmp.write_text("".join(f"{d}\n" for d in kept), "ascii")
                os.replace(tmp, self.path)
                return
            with self.path.open("a", encoding="ascii") as out:
                out.write("".join(f"{d}\n" for d in new))
        except OSError:
            pass  # a cache: without it the next build asks the registry

    def forget(self) -> None:
        with self._lock:
            self._known.clear()
            self._new.clear()
        self.path.unlink(missing_ok=True)
