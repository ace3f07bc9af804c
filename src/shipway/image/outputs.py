"""Images written to files instead of a registry: an OCI layout directory, or an archive
that ``docker load``, ``minikube image load`` and ``kind load image-archive`` accept.

The path is checked when the option is read, before a build: an OCI layout goes into a
new or empty directory (or one holding a layout, which it then replaces); an archive
replaces a regular file, never a directory. Missing parents are made, as for ``render
--out``. Every file is written to a temporary name and renamed into place, so a link
planted where a file goes is replaced, never followed, and a failed write leaves nothing
half-written; what cannot be written is a one-line error.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.oci import INDEX, MANIFEST, Descriptor, canonical
from shipway.image.reference import Reference

LAYOUT = {"imageLayoutVersion": "1.0.0"}


def parse_output(text: str) -> tuple[str, Path]:
    kind, sep, path = text.partition(":")
    if not sep or kind not in ("oci", "docker-archive") or not path:
        raise ShipwayError(f"--output '{text}': write oci:DIR or docker-archive:FILE")
    out = Path(path)
    with _writing(text):
        problem = _oci_problem(out) if kind == "oci" else _archive_problem(out)
        problem = problem or _parent_problem(out)
    if problem:
        raise ShipwayError(f"--output {text}: {problem}")
    return kind, out


def _oci_problem(out: Path) -> str | None:
    if out.is_symlink():
        return "is a symbolic link; give the directory itself"
    if out.exists() and not out.is_dir():
        return "is a file, not a directory; give a new or empty directory"
    if out.is_dir() and any(out.iterdir()) and not (out / "oci-layout").is_file():
        return "is a directory of other files, not an OCI layout; give a new or empty one"
    return None


def _archive_problem(out: Path) -> str | None:
    if out.is_symlink():
        return "is a symbolic link; give the file itself"
    if out.is_dir():
        return "is a directory; give the archive's file name"
    if out.exists() and not out.is_file():
        return "exists and is not a regular file; give another file name"
    return None


def _parent_problem(out: Path) -> str | None:
    """Missing parents are made; one that is a file cannot be."""
    for parent in out.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else f"{parent} is a file, not a directory"
    return None


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
    with _writing(f"oci:{out}"):
        blob_dir = out / "blobs" / "sha256"
        blob_dir.mkdir(parents=True, exist_ok=True)
        for digest in [manifest.digest, *blobs]:
            target = blob_dir / digest.split(":", 1)[1]
            if target.is_symlink() or not target.is_file():
                with _replacing(target) as sink, store.path(digest).open("rb") as source:
                    shutil.copyfileobj(source, sink)
        for name, data in (
            ("oci-layout", canonical(LAYOUT)),
            ("index.json", _index(manifest, ref)),
        ):
            with _replacing(out / name) as sink:
                sink.write(data)


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
    with (
        _writing(f"docker-archive:{out}"),
        _replacing(out) as sink,
        tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, content in files:
            _add_file(tar, name, content)


@contextmanager
def _writing(where: str) -> Iterator[None]:
    """What the file system refuses (a full disk, a parent that became a file) is a
    one-line error naming the output."""
    try:
        yield
    except OSError as exc:
        raise ShipwayError(
            f"--output {where}: cannot write it ({exc.strerror or type(exc).__name__})"
        ) from None


@contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    """A new file renamed over ``target`` once written: never written through a link."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
