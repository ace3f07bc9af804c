"""Images written to files instead of a registry: an OCI layout directory, or an archive
that ``docker load``, ``minikube image load`` and ``kind load image-archive`` accept."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.oci import INDEX, MANIFEST, Descriptor, canonical
from shipway.image.reference import Reference

LAYOUT = {"imageLayoutVersion": "1.0.0"}


def parse_output(text: str) -> tuple[str, Path]:
    kind, sep, path = text.partition(":")
    if not sep or kind not in ("oci", "docker-archive") or not path:
        raise ShipwayError(f"--output '{text}': write oci:DIR or docker-archive:FILE")
    return kind, Path(path)


def _index(manifest: Descriptor, ref: Reference | None) -> bytes:
    entry = manifest.to_json()
    entry["mediaType"] = MANIFEST
    if ref is not None:
        entry["annotations"] = {
            "org.opencontainers.image.ref.name": ref.tag or "latest",
            "io.containerd.image.name": str(ref),
        }
    return canonical({"schemaVersion": 2, "mediaType": INDEX, "manifests": [entry]})


def write_oci_layout(
    out: Path, store: BlobStore, manifest: Descriptor, blobs: list[str], ref: Reference | None
) -> None:
    blob_dir = out / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for digest in [manifest.digest, *blobs]:
        target = blob_dir / digest.split(":", 1)[1]
        if not target.exists():
            shutil.copyfile(store.path(digest), target)
    (out / "oci-layout").write_bytes(canonical(LAYOUT))
    (out / "index.json").write_bytes(_index(manifest, ref))


def write_docker_archive(
    out: Path,
    store: BlobStore,
    manifest: Descriptor,
    config: str,
    layers: list[str],
    ref: Reference | None,
) -> None:
    """Docker's manifest.json next to an OCI layout, as ``docker save`` writes since v25."""
    tags = [f"{ref.registry}/{ref.repository}:{ref.tag or 'latest'}"] if ref else []
    docker_manifest = [
        {"Config": _blob_name(config), "RepoTags": tags, "Layers": [_blob_name(d) for d in layers]}
    ]
    files: list[tuple[str, Path | bytes]] = [
        ("oci-layout", canonical(LAYOUT)),
        ("index.json", _index(manifest, ref)),
        ("manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode()),
    ]
    for digest in sorted({manifest.digest, config, *layers}):
        files.append((_blob_name(digest), store.path(digest)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, content in files:
            _add_file(tar, name, content)


def _blob_name(digest: str) -> str:
    return f"blobs/sha256/{digest.split(':', 1)[1]}"


def _add_file(tar: tarfile.TarFile, name: str, content: Path | bytes) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    if isinstance(content, bytes):
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
        return
    info.size = content.stat().st_size
    with content.open("rb") as handle:
        tar.addfile(info, handle)
