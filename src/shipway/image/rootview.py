"""A read-only view of a few files in an image's root filesystem, from its layer blobs.

Layers are read bottom-up as a container runtime applies them: a later layer's entry
replaces an earlier one, ``.wh.NAME`` deletes ``NAME`` and ``.wh..wh..opq`` empties a
directory. Only the files asked for are kept (bounded in size), plus every symbolic link,
so paths can be resolved the way the kernel will (``/lib`` -> ``usr/lib`` on merged-/usr
systems, ``/etc/os-release`` -> ``../usr/lib/os-release``).
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shipway.errors import ShipwayError
from shipway.image.compression import open_layer

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: dpkg's status in a large image is a few MB; nothing wanted here is bigger.
MAX_FILE = 64 << 20
#: The kernel gives up after 40 links in one path.
MAX_HOPS = 40


@dataclass
class RootView:
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    def read(self, path: str) -> bytes | None:
        return self.files.get(canonical(path, self.links, full=True))

    def directory(self, path: str) -> list[str]:
        """The kept files directly in ``path`` (asked for as ``path/``), sorted."""
        return sorted(name for name in self.files if posixpath.dirname(name) == path)


@dataclass
class _LayerScan:
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    emptied: set[str] = field(default_factory=set)


def read_root(layers: Iterable[tuple[Path, str]], wanted: set[str]) -> RootView:
    """The ``wanted`` files (paths without a leading ``/``; ``dir/`` for every file in
    ``dir``) of the image whose layer blobs, bottom first, are ``(path, media type)``."""
    view = RootView()
    for blob, media_type in layers:
        with open_layer(blob, media_type) as stream:
            scan = _scan(stream, wanted)
        _apply(view, scan)
    return view


def _scan(stream: IO[bytes], wanted: set[str]) -> _LayerScan:
    scan = _LayerScan()
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = posixpath.normpath(member.name.lstrip("/")).removeprefix("./")
            parent, base = posixpath.split(name)
            if base == OPAQUE:
                scan.emptied.add(parent)
            elif base.startswith(WHITEOUT):
                scan.deleted.add(posixpath.join(parent, base[len(WHITEOUT) :]))
            elif member.issym():
                scan.links[name] = member.linkname
            else:
                scan.replaced.add(name)
                if _wanted(name, wanted) and member.isfile() and member.size <= MAX_FILE:
                    handle = tar.extractfile(member)
                    scan.files[name] = handle.read() if handle else b""
    return scan


def _wanted(name: str, wanted: set[str]) -> bool:
    return name in wanted or posixpath.dirname(name) + "/" in wanted


def _apply(view: RootView, scan: _LayerScan) -> None:
    for gone in scan.deleted:
        _drop(view, gone, keep_self=False)
    for emptied in scan.emptied:
        _drop(view, emptied, keep_self=True)
    for name in scan.replaced | scan.links.keys():
        view.links.pop(name, None)
        view.files.pop(name, None)
    view.links.update(scan.links)
    view.files.update(scan.files)


def _drop(view: RootView, path: str, keep_self: bool) -> None:
    prefix = path + "/"
    for table in (view.files, view.links):
        for name in [n for n in table if n.startswith(prefix) or (n == path and not keep_self)]:
            del table[name]


def canonical(path: str, links: Mapping[str, str], full: bool) -> str:
    """``path`` with every symbolic link among its parents (and itself, if ``full``)
    replaced by its target, as the kernel resolves it inside the image's root."""
    parts = path.strip("/").split("/")
    last = None if full else parts.pop()
    pending = list(reversed(parts))
    done: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        target = links.get("/".join([*done, part]))
        if target is None:
            done.append(part)
            continue
        hops += 1
        if hops > MAX_HOPS:
            raise ShipwayError(f"/{path}: too many levels of symbolic links in the base image")
        if target.startswith("/"):
            done = []
        pending.extend(reversed(target.split("/")))
    return "/".join([*done, last] if last else done)
