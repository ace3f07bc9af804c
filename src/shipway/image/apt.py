"""The apt layer: the Debian packages an app's ``Aptfile`` names, added to its image.

Built without Docker, chroot or root, and without running maintainer scripts: the base
image's layers tell its Debian release (``/etc/os-release``, and its apt sources for
``sid``) and what dpkg has installed; the suite's index, from the mirror apt uses on this
machine, gives the packages and what they depend on (``aptresolve``); each ``.deb`` is
checked (``debmirror``) and unpacked (``debextract``) into one reproducible layer, which
also records them in dpkg's database (``dpkgdb``).

The layer is cached by the Aptfile's package names, the base image's layers and the
architecture: while those are unchanged a build does no network work at all (the
packages are then as new as when the layer was made; a new base image makes a new one).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from shipway.errors import ShipwayError, SpecError
from shipway.image import base as base_image
from shipway.image.aptfile import AptPackage, read_aptfile
from shipway.image.aptresolve import Index, Package, installed_names, resolve
from shipway.image.blobs import BlobStore
from shipway.image.debextract import DebContents, extract_deb
from shipway.image.debmirror import Mirror
from shipway.image.debsources import debian_mirror, image_is_unstable, parse_sources
from shipway.image.dpkgdb import CONFIG_DIR, STATUS, database_files, kept, path_filters
from shipway.image.layer import Entry, Layer, cached_layer, with_parents, write_layer
from shipway.image.progress import Progress
from shipway.image.registry import RegistryClient
from shipway.image.rootview import RootView, canonical, read_root

#: Bump when the layer's layout changes, so old cached layers are not reused.
LAYOUT = 1
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
IMAGE_SOURCES = ("etc/apt/sources.list", "etc/apt/sources.list.d/debian.sources")
WANTED = {*OS_RELEASE, *IMAGE_SOURCES, STATUS, f"{CONFIG_DIR}/"}


def apt_layer(
    app_dir: Path,
    base: base_image.BaseImage,
    client: RegistryClient,
    store: BlobStore,
    progress: Progress,
) -> tuple[Layer, bool] | None:
    """The layer and whether it came from the cache; None when the app has no Aptfile
    (or one that lists nothing)."""
    wanted = read_aptfile(app_dir)
    if not wanted:
        return None
    arch = str(base.config.get("architecture", "amd64"))
    meta = [sorted(p.name for p in wanted), [lay.digest for lay in base.layers], arch, LAYOUT]
    key = hashlib.sha256(json.dumps(meta).encode()).hexdigest()[:32]
    return cached_layer(
        f"apt-{key}", lambda: _build(wanted, base, client, store, progress, arch), store
    )


def _build(
    wanted: list[AptPackage],
    base: base_image.BaseImage,
    client: RegistryClient,
    store: BlobStore,
    progress: Progress,
    arch: str,
) -> Layer:
    progress.step("apt: reading the base image's Debian release and packages")
    base_image.ensure_layers(client, base, store)
    root = read_root([(store.path(lay.digest), lay.media_type) for lay in base.layers], WANTED)
    suite = debian_suite(root, base)
    status = (root.read(STATUS) or b"").decode("utf-8", "replace")
    installed = installed_names(status)
    mirror = Mirror(debian_mirror(suite))
    progress.step(f"apt: Debian {suite} package index")
    index = mirror.index(mirror.release(suite), suite, arch)
    check_available(wanted, index, installed, suite)
    packages = resolve([p.name for p in wanted], index, installed)
    progress.step(f"apt: {len(packages)} packages: {_names(packages)}")
    debs = [mirror.deb(package) for package in packages]
    with tempfile.TemporaryDirectory(prefix="shipway-apt-") as tmp:
        return write_layer(
            _entries(list(zip(packages, debs, strict=True)), root, status, Path(tmp)), store
        )


def debian_suite(root: RootView, base: base_image.BaseImage) -> str:
    """``VERSION_CODENAME`` of the image's os-release; ``sid`` when its apt sources say
    unstable (sid's os-release names the coming release, as testing's does)."""
    text = next((data for path in OS_RELEASE if (data := root.read(path))), b"")
    fields = dict(
        (key, value.strip().strip("\"'"))
        for key, _, value in (
            line.partition("=") for line in text.decode(errors="replace").splitlines()
        )
    )
    if fields.get("ID") != "debian" or not fields.get("VERSION_CODENAME"):
        what = f"is {fields['ID'][:40]!r}" if fields.get("ID") else "has no /etc/os-release"
        raise ShipwayError(
            f"base image {base.ref} {what}, not a Debian release; an Aptfile needs a "
            "Debian-based base image (e.g. python:3.12-slim)"
        )
    sources = []
    for path in IMAGE_SOURCES:
        data = root.read(path)
        if data:
            sources += parse_sources(path, data.decode(errors="replace"))
    return "sid" if image_is_unstable(sources) else fields["VERSION_CODENAME"]


def check_available(
    wanted: list[AptPackage], index: Index, installed: set[str], suite: str
) -> None:
    """Every package the Aptfile names exists: the error names the Aptfile's line."""
    for package in wanted:
        if package.name not in installed and not index.has(package.name):
            raise SpecError(
                package.where,
                None,
                f"{package.name!r} is not a package of Debian {suite} (main)",
                "check the name with `apt-cache search`, or remove it",
            )


def _entries(
    packages: list[tuple[Package, Path]], root: RootView, status: str, tmp: Path
) -> list[Entry]:
    """The layer's entries, their paths resolved through the base image's links (so a
    package's ``/lib/...`` lands in ``usr/lib`` on merged-/usr and never replaces the
    ``/lib`` link with a directory); a later package's file replaces an earlier one's."""
    links = dict(root.links)
    rules = path_filters([root.files[path] for path in root.directory(CONFIG_DIR)])
    entries: dict[str, Entry] = {}
    unpacked: list[tuple[Package, DebContents]] = []
    for number, (package, deb) in enumerate(packages):
        staging = tmp / str(number)
        staging.mkdir()
        contents = extract_deb(deb, staging, f"{package.name} {package.version}")
        contents.members = [m for m in contents.members if kept(f"/{m.name}", rules)]
        unpacked.append((package, contents))
        for member in contents.members:
            name = canonical(member.name, links, full=member.kind == "dir")
            if member.kind == "dir":
                entries.setdefault(name, Entry(name))
                continue
            links.pop(name, None)
            if member.kind == "link":
                links[name] = str(member.link)
            entries[name] = Entry(
                name, source=member.source, link=member.link, executable=member.executable
            )
    generated = tmp / "generated"
    generated.mkdir()
    for number, (path, data) in enumerate(sorted(database_files(status, unpacked).items())):
        name = canonical(path, links, full=False)
        (generated / str(number)).write_bytes(data)
        entries[name] = Entry(name, source=generated / str(number))
    return with_parents(list(entries.values()))


def _names(packages: list[Package]) -> str:
    shown = ", ".join(p.name for p in packages[:8])
    return shown + (f" and {len(packages) - 8} more" if len(packages) > 8 else "")
