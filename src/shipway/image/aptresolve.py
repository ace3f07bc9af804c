"""Which Debian packages to add: the Aptfile's, and what they depend on that the base
image lacks.

Like ``apt-get install --no-install-recommends``: ``Pre-Depends`` and ``Depends`` are
followed recursively, alternatives (``a | b``) are satisfied by one already present, else
by the first the index has, and a virtual package by what provides it. What dpkg's status
in the base image says is installed is never added again (its version is trusted: the
index is of the base image's own suite). The walk is breadth-first from the sorted
names, so the same index always gives the same set.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from shipway.errors import ShipwayError
from shipway.image.deb822 import paragraphs, provided, relations

#: More than this many packages is not a library an app needs but a distribution.
MAX_PACKAGES = 300
INDEX_FIELDS = frozenset(
    {
        "Package",
        "Version",
        "Architecture",
        "Multi-Arch",
        "Depends",
        "Pre-Depends",
        "Provides",
        "Filename",
        "SHA256",
        "Size",
    }
)
STATUS_FIELDS = frozenset({"Package", "Status", "Provides"})


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    architecture: str
    filename: str
    sha256: str
    size: int
    depends: tuple[tuple[str, ...], ...] = ()
    provides: tuple[str, ...] = ()
    multi_arch: str = ""


@dataclass
class Index:
    """The packages a mirror offers for one suite, component and architecture."""

    packages: dict[str, Package] = field(default_factory=dict)
    providers: dict[str, list[str]] = field(default_factory=dict)

    def add(self, package: Package) -> None:
        if package.name in self.packages:  # the first of two versions wins
            return
        self.packages[package.name] = package
        for name in package.provides:
            self.providers.setdefault(name, []).append(package.name)

    def has(self, name: str) -> bool:
        return name in self.packages or name in self.providers


def parse_index(text: str) -> Index:
    index = Index()
    for fields in paragraphs(text, INDEX_FIELDS):
        if not {"Package", "Filename", "SHA256", "Size"} <= fields.keys():
            continue
        depends = fields.get("Pre-Depends", "") + "," + fields.get("Depends", "")
        index.add(
            Package(
                fields["Package"],
                fields.get("Version", ""),
                fields.get("Architecture", ""),
                fields["Filename"],
                fields["SHA256"].lower(),
                int(fields["Size"]) if fields["Size"].isdigit() else 0,
                relations(depends),
                provided(fields.get("Provides", "")),
                fields.get("Multi-Arch", ""),
            )
        )
    return index


def installed_names(status: str) -> set[str]:
    """The names dpkg's status says are installed, and the virtual names they provide."""
    names = set()
    for fields in paragraphs(status, STATUS_FIELDS):
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            names.add(fields["Package"])
            names.update(provided(fields.get("Provides", "")))
    return names


def resolve(wanted: Iterable[str], index: Index, installed: set[str]) -> list[Package]:
    """The packages to add, sorted by name; at most ``MAX_PACKAGES``."""
    chosen: dict[str, Package] = {}
    present = set(installed)
    queue: deque[tuple[str, str]] = deque((name, "") for name in sorted(wanted))
    while queue:
        name, needed_by = queue.popleft()
        if name in present:
            continue
        package = _pick((name,), index, needed_by)
        chosen[package.name] = package
        if len(chosen) > MAX_PACKAGES:
            raise ShipwayError(
                f"Aptfile: the packages need more than {MAX_PACKAGES} others from Debian; "
                "list only the libraries the app needs at run time"
            )
        present.add(package.name)
        present.update(package.provides)
        for group in package.depends:
            if not any(alternative in present for alternative in group):
                queue.append((_first_available(group, index), package.name))
    return [chosen[name] for name in sorted(chosen)]


def _first_available(group: tuple[str, ...], index: Index) -> str:
    return next((name for name in group if index.has(name)), group[0])


def _pick(group: tuple[str, ...], index: Index, needed_by: str) -> Package:
    for name in group:
        if name in index.packages:
            return index.packages[name]
        if name in index.providers:
            return index.packages[sorted(index.providers[name])[0]]
    what = " | ".join(group)
    who = f"{needed_by} depends on {what}, which" if needed_by else what
    raise ShipwayError(
        f"Aptfile: {who} is not in the Debian suite's main archive and not in the base "
        "image; check the name (`apt-cache policy NAME`) or pick a base image that has it"
    )
