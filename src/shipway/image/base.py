"""The base image: resolved from its registry to one platform's manifest and config.

Only the small documents are fetched up front; layers are downloaded into the local
blob store when something needs their bytes (an output file, or a push to another
registry), and then kept by digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shipway.errors import ShipwayError
from shipway.image import oci
from shipway.image.blobs import BlobStore
from shipway.image.reference import Reference
from shipway.image.registry import RegistryClient


@dataclass(frozen=True)
class BaseImage:
    ref: Reference
    config: dict[str, Any]
    layers: list[oci.Descriptor]

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    def env(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in self.config.get("config", {}).get("Env") or [])
        return {key: value for key, _, value in pairs}

    @property
    def platform(self) -> str:
        return f"{self.config.get('os', 'linux')}/{self.config.get('architecture', 'amd64')}"


def fetch(
    client: RegistryClient, ref: Reference, store: BlobStore, platform: str = "linux/amd64"
) -> BaseImage:
    body, media_type = client.get_manifest(
        ref.repository, ref.identifier, oci.INDEX_TYPES + oci.MANIFEST_TYPES
    )
    document = _json(body, ref)
    if media_type in oci.INDEX_TYPES or "manifests" in document:
        digest = _pick(document, platform, ref)
        body, media_type = client.get_manifest(ref.repository, digest, oci.MANIFEST_TYPES)
        document = _json(body, ref)
    # Every descriptor is checked before any blob is fetched or named on disk.
    config_desc = oci.Descriptor.from_json(document.get("config"), f"{ref}'s manifest")
    listed = document.get("layers", [])
    if not isinstance(listed, list) or len(listed) > 512:
        raise ShipwayError(f"{ref}: the registry sent a manifest with an invalid layer list")
    layers = [oci.Descriptor.from_json(layer, f"{ref}'s manifest") for layer in listed]
    if not store.has(config_desc.digest):
        with store.writer() as (out, commit):
            client.download_blob(ref.repository, config_desc.digest, out)
            commit(config_desc.digest)
        store.verify(config_desc.digest)
    config = json.loads(store.path(config_desc.digest).read_bytes())
    return BaseImage(ref, config, layers)


def ensure_layers(client: RegistryClient, base: BaseImage, store: BlobStore) -> None:
    """Download the base layers not yet in the local store."""
    for layer in base.layers:
        if store.has(layer.digest):
            continue
        with store.writer() as (out, commit):
            client.download_blob(base.ref.repository, layer.digest, out)
            commit(layer.digest)
        store.verify(layer.digest)


def _json(body: bytes, ref: Reference) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise ShipwayError(f"{ref}: the registry sent a manifest that is not JSON") from None
    if not isinstance(document, dict):
        raise ShipwayError(f"{ref}: the registry sent an unexpected manifest")
    return document


def _pick(index: dict[str, Any], platform: str, ref: Reference) -> str:
    want_os, _, want_arch = platform.partition("/")
    entries = index.get("manifests", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        plat = entry.get("platform")
        plat = plat if isinstance(plat, dict) else {}
        if plat.get("os") == want_os and plat.get("architecture") == want_arch:
            return oci.checked_digest(entry.get("digest"), f"{ref}'s index")
    raise ShipwayError(f"base image {ref} has no {platform} variant; pick another base image")
