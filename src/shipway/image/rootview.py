"""A read-only view of a few files in an image's root filesystem, from its layer blobs.

Layers are read bottom-up as a container runtime applies them: a later layer's entry
replaces an earlier one, ``.wh.NAME`` deletes ``NAME`` and ``.wh..wh..opq`` empties a
directory. Only the files asked for are kept (bounded in size), plus every symbolic link,
so paths can be resolved the way the kernel will (``/lib`` -> ``usr/lib`` on merged-/usr
systems, ``/etc/os-release`` -> ``../usr/lib/os-release``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipway.errors import ShipwayError
from shipway.image.compression import TarStream, entry_path, open_layer, read_tar

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: dpkg's status in a large image is a few MB; nothing wanted here is bigger.
MAX_FILE = 64 << 20
#: The kernel gives up after 40 links in one path.
MAX_HOPS = 40
#: What one layer may make the view hold (names, links and wanted files): a real image's
#: links and whiteouts take a few MB.
MAX_VIEW = 256 << 20


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
    #: Bytes held so far, bounded by MAX_VIEW.
    held: int = 0

    def hold(self, count: int, label: str) -> None:
        self.held += count
        if self.held > MAX_VIEW:
            raise ShipwayError(
                f"{label}: holds more links, whiteouts and wanted files than Shipway reads "
                f"(over {MAX_VIEW >> 20} MiB); the base image is refused"
            )


def read_root(layers: Iterable[tuple[Path, str]], wanted: set[str]) -> RootView:
    """The ``wanted`` files (paths without a leading ``/``; ``dir/`` for every file in
    ``dir``) of the image whose layer blobs, bottom first, are ``(path, media type)``."""
    view = RootView()
    for blob, media_type in layers:
        with open_layer(blob, media_type) as stream:
            label = f"image layer {blob.name[:16]}"
            with read_tar(stream, label) as tar:
                scan = _scan(tar, wanted, view, label)
        _apply(view, scan)
    return view


def _scan(tar: TarStream, wanted: set[str], view: RootView, label: str) -> _LayerScan:
    """One layer's changes to ``view``. Nothing here becomes a path on this machine; names
    that climb out of the image's root are refused as Docker refuses them."""
    scan = _LayerScan()
    for member in tar:
        name = entry_path(member.name)
        if name is None:
            raise ShipwayError(
                f"{label}: holds an entry outside the image's root ({member.name[:80]!r}); "
                "the base image is refused"
            )
        parent, base = posixpath.split(name)
        if base == OPAQUE:
            scan.emptied.add(parent)
        elif base.startswith(WHITEOUT):
            scan.deleted.add(posixpath.join(parent, base[len(WHITEOUT) :]))
        elif member.issym():
            scan.links[name] = member.linkname
            scan.hold(len(member.linkname), label)
        elif _wanted(name, wanted) and member.isfile() and member.size <= MAX_FILE:
            scan.files[name] = tar.data(member).read()
            scan.hold(member.size, label)
        elif name in view.files or name in view.links:
            scan.replaced.add(name)
        else:
            continue  # changes nothing the view holds: nothing to remember
        scan.hold(len(name), label)
    return scan


def _wanted(name: str, wanted: set[str]) -> bool:
    return name in wanted or posixpath.dirname(name) + "/" in wanted


def _apply(view: RootView, scan: _LayerScan) -> None:
    if scan.deleted or scan.emptied:  # one pass over the view, however many whiteouts
        for table in (view.files, view.links):
            for name in [n for n in table if _whited_out(n, scan)]:
                del table[name]
    for name in scan.replaced | scan.links.keys() | scan.files.keys():
        view.links.pop(name, None)
        view.files.pop(name, None)
    view.links.update(scan.links)
    view.files.update(scan.files)


def _whited_out(name: str, scan: _LayerScan) -> bool:
    """Whether the layer deletes ``name`` or a parent, or empties a parent (opaque)."""
    if name in scan.deleted:
        return True
    parent = posixpath.dirname(name)
    while parent:
        if parent in scan.deleted or parent in scan.emptied:
            return True
        parent = posixpath.dirname(parent)
    return False


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
            raise ShipwayError(f"/{path}: too many levels of symbolic links in the image")
        if target.startswith("/"):
            done = []
        pending.extend(reversed(target.split("/")))
    return "/".join([*done, last] if last else done)
