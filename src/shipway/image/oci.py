"""OCI image documents: media types, descriptors, the config and the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shipway.errors import ShipwayError
from shipway.image.blobs import DIGEST

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MANIFEST_TYPES = [MANIFEST, DOCKER_MANIFEST]
INDEX_TYPES = [INDEX, DOCKER_LIST]
#: Docker's media types name the same bytes as these OCI ones.
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
TO_OCI = {
    f"{DOCKER_LAYER}.gzip": f"{OCI_LAYER}+gzip",
    DOCKER_LAYER: OCI_LAYER,
    DOCKER_CONFIG: CONFIG,
}
EPOCH_ISO = "1970-01-01T00:00:00Z"
#: A descriptor's size beyond this is an answer no real image gives (1 TiB).
MAX_SIZE = 1 << 40


def checked_digest(value: Any, where: str = "the registry") -> str:
    """``value`` if it is a ``sha256:`` digest of 64 lower-case hex digits, else a one-line
    error: a digest from outside (a registry's answer) becomes a file name and a URL."""
    if isinstance(value, str) and DIGEST.fullmatch(value):
        return value
    shown = repr(value)[:40] if isinstance(value, str) else type(value).__name__
    raise ShipwayError(
        f"{where} gave {shown} where a sha256 digest belongs; the answer is refused "
        "(check the registry and the image reference)"
    )


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_json(cls, data: Any, where: str = "the registry") -> Descriptor:
        """A descriptor from a document someone else wrote: checked, or a one-line error."""
        if not isinstance(data, dict):
            raise ShipwayError(f"{where} gave a descriptor that is not an object")
        media = str(data.get("mediaType", ""))[:256]
        size = data.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
            raise ShipwayError(f"{where} gave a descriptor with an invalid size")
        return cls(TO_OCI.get(media, media), checked_digest(data.get("digest"), where), size)


def canonical(document: dict[str, Any]) -> bytes:
    """The one byte form of a JSON document, so equal documents have equal digests."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest(config: Descriptor, layers: list[Descriptor]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
