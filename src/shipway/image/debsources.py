"""apt's source lists: which Debian mirror this machine uses, and which suite an image is.

The mirror is never written down anywhere in Shipway: it is ``$SHIPWAY_DEBIAN_MIRROR``,
else the first Debian source of this machine's apt configuration (one-line ``*.list``
files and deb822 ``*.sources``), read the way ``hack/infra/base-rootfs.sh`` reads it. The
same parser reads a base image's own sources, which tell ``sid`` from testing (their
``/etc/os-release`` names the same codename).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from shipway.errors import ShipwayError

UNSTABLE = {"sid", "unstable"}


@dataclass(frozen=True)
class Source:
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    enabled: bool = True

    @property
    def usable(self) -> bool:
        return self.enabled and "deb" in self.types and bool(self.uris)


def parse_one_line(text: str) -> list[Source]:
    """``deb [options] URI SUITE COMPONENT...`` lines."""
    sources = []
    for raw in text.splitlines():
        line = raw.partition("#")[0]
        if "[" in line and "]" in line:  # options: [arch=amd64 signed-by=...]
            line = line[: line.index("[")] + line[line.index("]") + 1 :]
        words = line.split()
        if len(words) >= 3:
            sources.append(Source((words[0],), (words[1],), (words[2],)))
    return sources


def parse_deb822(text: str) -> list[Source]:
    """Stanzas of ``Types:``, ``URIs:``, ``Suites:`` and ``Enabled:`` fields."""
    sources = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields:
            sources.append(
                Source(
                    tuple(fields.get("types", "").split()),
                    tuple(fields.get("uris", "").split()),
                    tuple(fields.get("suites", "").split()),
                    fields.get("enabled", "yes").lower() != "no",
                )
            )
    return sources


def parse_sources(name: str, text: str) -> list[Source]:
    return parse_deb822(text) if name.endswith(".sources") else parse_one_line(text)


def host_sources(etc_apt: Path = Path("/etc/apt")) -> list[Source]:
    """This machine's sources, in apt's file order."""
    parts = etc_apt / "sources.list.d"
    files = [etc_apt / "sources.list"]
    if parts.is_dir():
        files += sorted(parts.glob("*.list")) + sorted(parts.glob("*.sources"))
    sources = []
    for file in files:
        if file.is_file():
            sources += parse_sources(file.name, file.read_text(errors="replace"))
    return sources


def debian_mirror(suite: str, sources: list[Source] | None = None) -> str:
    """The mirror to fetch ``suite`` from: the environment's, else apt's first source
    for that suite, else the first source of a main archive (a suite with no ``-updates``
    or ``-security`` part), which serves every suite."""
    explicit = os.environ.get("SHIPWAY_DEBIAN_MIRROR")
    if explicit:
        return explicit.rstrip("/")
    usable = [s for s in (host_sources() if sources is None else sources) if s.usable]
    web = [s for s in usable if s.uris[0].startswith(("http://", "https://"))]
    for source in web:
        if suite in source.suites:
            return source.uris[0].rstrip("/")
    for source in web:
        if any("-" not in name for name in source.suites):
            return source.uris[0].rstrip("/")
    raise ShipwayError(
        "an Aptfile needs a Debian mirror and this machine's apt sources name none; "
        "set SHIPWAY_DEBIAN_MIRROR to a Debian mirror's URL"
    )


def image_is_unstable(sources: list[Source]) -> bool:
    """Whether an image's own apt sources point at unstable (``sid``)."""
    return any(s.usable and UNSTABLE & set(s.suites) for s in sources)
