"""Test images made here: a root filesystem tar pushed as a Python base image."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

from shipway.image import oci
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore, HashingWriter, sha256_file
from shipway.image.reference import parse
from shipway.image.registry import RegistryClient

BASE_REPOSITORY = "base/python"


def push_rootfs(
    rootfs: Path,
    python_version: str,
    host: str,
    credentials: Credentials | None,
    store: BlobStore,
    tag: str,
) -> str:
    """Push ``rootfs`` as a one-layer image like the official python one; returns its ref."""
    layer = _gzip_layer(rootfs, store)
    diff_id = sha256_file(rootfs)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": {
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8",
                f"PYTHON_VERSION={python_version}",
            ],
            "Cmd": ["python3"],
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": oci.EPOCH_ISO, "created_by": "debootstrap bookworm + python3"}],
    }
    return push_image(f"{host}/{BASE_REPOSITORY}:{tag}", config, layer, credentials, store)


def push_image(
    name: str,
    config: dict[str, Any],
    layer: oci.Descriptor,
    credentials: Credentials | None,
    store: BlobStore,
) -> str:
    """Push a one-layer image: its blobs (unless present), then its manifest."""
    config_bytes = oci.canonical(config)
    config_desc = oci.Descriptor(oci.CONFIG, store.put_bytes(config_bytes), len(config_bytes))
    manifest = oci.canonical(oci.manifest(config_desc, [layer]))
    ref = parse(name)
    client = RegistryClient(ref.registry, ref.api_host, credentials)
    for blob in (layer, config_desc):
        if not client.blob_exists(ref.repository, blob.digest):
            client.upload_blob(ref.repository, blob.digest, store.path(blob.digest))
    client.put_manifest(ref.repository, ref.identifier, manifest, oci.MANIFEST)
    return str(ref)


def _gzip_layer(rootfs: Path, store: BlobStore) -> oci.Descriptor:
    with store.writer() as (out, commit):
        hashing = HashingWriter(out)
        with (
            rootfs.open("rb") as source,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=1
            ) as zipped,
        ):  # type: ignore[arg-type]
            shutil.copyfileobj(source, zipped, 1 << 20)
        commit(hashing.digest)
    return oci.Descriptor(
        "application/vnd.oci.image.layer.v1.tar+gzip", hashing.digest, hashing.size
    )
