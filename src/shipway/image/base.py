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

#: An image config is a few KiB of JSON; the descriptor's size is checked before fetching.
CONFIG_BYTES = 4 << 20


@dataclass(frozen=True)
class BaseImage:
    ref: Reference
    config: dict[str, Any]
    layers: list[oci.Descriptor]

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    def env(self) -> dict[str, str]:
        pairs = (item.partition("=") for item in (self.config.get("config") or {}).get("Env") or [])
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
    if config_desc.size > CONFIG_BYTES:
        raise ShipwayError(f"{ref}: the registry lists an image config over 4 MiB; refused")
    if not store.has(config_desc.digest):
        with store.writer() as (out, commit):
            client.download_blob(ref.repository, config_desc.digest, out, size=config_desc.size)
            commit(config_desc.digest)
        store.verify(config_desc.digest)
    config = _json(store.path(config_desc.digest).read_bytes(), ref, "config")
    _check_config(config, ref)
    return BaseImage(ref, config, layers)


def ensure_layers(client: RegistryClient, base: BaseImage, store: BlobStore) -> None:
    """Download the base layers not yet in the local store."""
    for layer in base.layers:
        if store.has(layer.digest):
            continue
        with store.writer() as (out, commit):
            client.download_blob(base.ref.repository, layer.digest, out, size=layer.size)
            commit(layer.digest)
        store.verify(layer.digest)


def _json(body: bytes, ref: Reference, what: str = "manifest") -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise ShipwayError(f"{ref}: the registry sent a {what} that is not JSON") from None
    if not isinstance(document, dict):
        raise ShipwayError(f"{ref}: the registry sent an unexpected {what}")
    return document


#: The shape the image spec gives the parts of a base config Shipway reads and extends.
CONFIG_SHAPE: dict[tuple[str, ...], type] = {
    ("config",): dict, ("config", "Env"): list, ("config", "Labels"): dict,
    ("rootfs",): dict, ("rootfs", "diff_ids"): list, ("history",): list,
    ("os",): str, ("architecture",): str, ("variant",): str,
}  # fmt: skip


def _check_config(config: dict[str, Any], ref: Reference) -> None:
    """The base config comes from a registry: any part Shipway reads or extends must have
    the spec's shape (``null`` counts as absent), so a hostile one is refused here."""
    for path, kind in CONFIG_SHAPE.items():
        parent = config
        for key in path[:-1]:
            parent = parent.get(key) or {}
        value = parent.get(path[-1])
        if value is not None and not isinstance(value, kind):
            raise ShipwayError(f"{ref}: the image config's {'.'.join(path)} is malformed")
    items = [
        *((config.get("config") or {}).get("Env") or []),
        *((config.get("rootfs") or {}).get("diff_ids") or []),
    ]
    if not all(isinstance(item, str) for item in items) or not all(
        isinstance(entry, dict) for entry in config.get("history") or []
    ):
        raise ShipwayError(f"{ref}: the image config's Env, diff_ids or history is malformed")
    for diff_id in (config.get("rootfs") or {}).get("diff_ids") or []:
        oci.checked_digest(diff_id, f"{ref}'s config")


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
