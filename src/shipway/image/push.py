"""Pushing an image whose layers and config are already made (not ``shipway build``'s
own pipeline): the images the platform builds for itself, such as addon servers."""

from __future__ import annotations

from typing import Any

from shipway.image import oci
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore
from shipway.image.layer import Layer
from shipway.image.reference import parse
from shipway.image.registry import RegistryClient


def push_image(
    name: str,
    config: dict[str, Any],
    layers: list[Layer],
    store: BlobStore,
    credentials: Credentials | None = None,
) -> str:
    """Push the blobs the registry lacks, then the manifest; returns the manifest's digest."""
    config_bytes = oci.canonical(
        config | {"rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}}
    )
    config_desc = oci.Descriptor(oci.CONFIG, store.put_bytes(config_bytes), len(config_bytes))
    descriptors = [oci.Descriptor(layer.media_type, layer.digest, layer.size) for layer in layers]
    manifest = oci.canonical(oci.manifest(config_desc, descriptors))
    ref = parse(name)
    client = RegistryClient(ref.registry, ref.api_host, credentials)
    for blob in [*descriptors, config_desc]:
        if not client.blob_exists(ref.repository, blob.digest):
            client.upload_blob(ref.repository, blob.digest, store.path(blob.digest))
    client.put_manifest(ref.repository, ref.identifier, manifest, oci.MANIFEST)
    return store.put_bytes(manifest)
