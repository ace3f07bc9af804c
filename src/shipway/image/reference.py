"""Image references (``registry/repository:tag@digest``), parsed as Docker parses them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.errors import ShipwayError
from shipway.image.blobs import DIGEST

DOCKER_HUB = "docker.io"
#: Docker Hub's API lives on another host than its name.
DOCKER_HUB_API = "registry-1.docker.io"
COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"^{COMPONENT}(?:/{COMPONENT})*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def identifier(self) -> str:
        """What the manifest is fetched by: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(text: str, what: str = "image reference") -> Reference:
    """``python:3.12-slim``, ``127.0.0.1:5000/app:v1``, ``ghcr.io/o/app@sha256:…``."""
    rest, _, digest = text.partition("@")
    if digest and not DIGEST.fullmatch(digest):
        raise _invalid(text, what, "a digest is sha256: and 64 hex digits")
    name, tag = _split_tag(rest)
    first, _, remainder = name.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, name
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not HOST.match(registry):
        raise _invalid(text, what, f"'{registry}' is not a registry host[:port]")
    if not REPOSITORY.match(repository) or len(repository) > 255:
        raise _invalid(
            text, what, "repository names are lower-case letters, digits and separators (. _ - /)"
        )
    if tag is not None and not TAG.match(tag):
        raise _invalid(text, what, "a tag is up to 128 letters, digits, '_', '.' or '-'")
    if tag is None and not digest:
        tag = "latest"
    return Reference(registry, repository, tag, digest or None)


def _split_tag(name: str) -> tuple[str, str | None]:
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def _invalid(text: str, what: str, fix: str) -> ShipwayError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return ShipwayError(f"'{shown}' is not a valid {what}; {fix}")
