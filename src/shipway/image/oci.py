"""OCI image documents: media types, descriptors, the config and the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        media = str(data.get("mediaType", ""))
        return cls(TO_OCI.get(media, media), str(data["digest"]), int(data["size"]))


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
