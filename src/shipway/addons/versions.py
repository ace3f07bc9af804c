"""Which version of an addon's server a release runs, decided before anything is applied.

An app asks for ``postgresql`` (any version, as Heroku's ``heroku-postgresql``) or for
``mongodb 6.0.2``; the platform pulls the server from the official image or from its
own mirror (``addon_images.<addon>``), which may hold a few tags only. So the version is
looked up among the tags that repository really has: the exact tag; unpinned, the version
the app already runs, else the default, else the newest plain version tag; pinned but
missing, the newest tag of the same line (``6.0.2`` → ``6.0.x`` → ``6.x``) with a warning;
otherwise a one-line error listing what the repository offers. A pod that cannot pull its
image would only say so minutes later, after the release was applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from shipway.addons import ADDONS
from shipway.errors import ShipwayError, TemporaryError
from shipway.image.reference import parse
from shipway.spec.model import Service

if TYPE_CHECKING:
    from shipway.image.registry import RegistryClient

#: A plain version tag: ``16``, ``6.0``, ``7.0.15`` (not ``latest``, ``16-bookworm``).
PLAIN = re.compile(r"\d{1,9}(?:\.\d{1,9}){0,3}")
#: How many tags an error lists.
SHOWN = 12

Version = tuple[int, ...]

#: An addon kind: the spec's Literal names, or plain strings.
K = TypeVar("K", bound=str)


def parts(tag: str) -> Version | None:
    return tuple(int(p) for p in tag.split(".")) if PLAIN.fullmatch(tag) else None


def newest(tags: list[str], line: Version = ()) -> str | None:
    """The highest plain version tag starting with ``line``; None when there is none."""
    found = [(v, t) for t in tags if (v := parts(t)) is not None and v[: len(line)] == line]
    return max(found)[1] if found else None


def resolve(
    kind: str,
    requested: str | None,
    tags: list[str],
    default: str,
    repository: str = "",
    current: str | None = None,
) -> tuple[str, str | None]:
    """The tag to run and, when it is not the one asked for, a warning saying so.

    ``current`` is the version the app's running release has: an unpinned addon stays on
    it (its data was written by that server) as long as the repository offers it."""
    where = repository or f"the {kind} repository"
    offered = set(tags)
    if requested is None:
        for candidate in (current, default):
            if candidate in offered:
                return candidate, None
        found = newest(tags)
        if found:
            return found, None
        raise _missing(kind, default, tags, where)
    if requested in offered:
        return requested, None
    wanted = parts(requested) or ()
    for cut in range(len(wanted), 0, -1):
        line = wanted[:cut]
        found = newest(tags, line)
        if found:
            shown = ".".join(map(str, line))
            return found, (
                f"{kind} {requested} is not offered by {where}; using {found}, "
                f"the newest {shown}.x it has"
            )
    raise _missing(kind, requested, tags, where)


def _missing(kind: str, version: str, tags: list[str], where: str) -> ShipwayError:
    return ShipwayError(
        f"{kind} {version} is not offered by {where} (it has {_listing(tags)}); set "
        f"services.{kind}.version to one of those, or point the platform's "
        f"addon_images.{kind} at a repository that has it"
    )


def _listing(tags: list[str]) -> str:
    """Plain versions first, newest first; then the others; at most SHOWN of them."""
    ranked = sorted(tags, key=lambda t: (parts(t) is None, [-n for n in parts(t) or ()], t))
    if not ranked:
        return "no tags"
    more = len(ranked) - SHOWN
    return ", ".join(ranked[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def resolve_services(
    services: Mapping[K, Service],
    repositories: Mapping[str, str],
    list_tags: Callable[[str], list[str]],
    current: Mapping[str, str] | None = None,
) -> tuple[dict[K, Service], list[str]]:
    """Every addon with the version it will run, and the warnings to show.

    ``repositories`` are the platform's ``addon_images``; the others use the official
    image. ``current`` is the running release's versions. A registry that cannot be
    reached now leaves the version as asked, with a warning: the pod's pull says the rest.
    """
    resolved: dict[K, Service] = {}
    warnings: list[str] = []
    for kind, service in sorted(services.items()):
        addon = ADDONS[kind]
        repository = repositories.get(kind) or addon.image_repository
        running = (current or {}).get(kind)
        try:
            tags = list_tags(repository)
        except TemporaryError as err:
            version = service.version or running or addon.default_version
            warnings.append(f"{kind}: {err}; using version {version} unchecked")
        else:
            version, warning = resolve(
                kind, service.version, tags, addon.default_version, repository, running
            )
            warnings += [warning] if warning else []
        resolved[kind] = service.model_copy(update={"version": version})
    return resolved, warnings


def with_versions(services: Mapping[K, Service], versions: Mapping[str, str]) -> dict[K, Service]:
    """The services with the versions a release recorded (an older release has none)."""
    return {
        kind: service.model_copy(update={"version": versions[kind]})
        if kind in versions
        else service
        for kind, service in services.items()
    }


def registry_tags(insecure: bool = False) -> Callable[[str], list[str]]:
    """``list_tags`` for ``resolve_services``: asks each repository's registry, with the
    credentials Shipway pushes with (``SHIPWAY_REGISTRY_*`` or ``docker login``)."""
    # Here, not at the top: rendering a release needs ``with_versions`` only, and the
    # day-2 verbs that do so must not pay for the registry client's imports.
    from shipway.image.auth import lookup  # noqa: PLC0415
    from shipway.image.registry import RegistryClient  # noqa: PLC0415

    clients: dict[str, RegistryClient] = {}

    def list_tags(repository: str) -> list[str]:
        ref = parse(repository, "addon image repository")
        if ref.registry not in clients:
            clients[ref.registry] = RegistryClient(
                ref.registry, ref.api_host, lookup(ref.registry), insecure=insecure
            )
        return clients[ref.registry].list_tags(ref.repository)

    return list_tags
