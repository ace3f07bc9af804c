#!/usr/bin/env python3
"""Make a one-layer OCI image from a few local files and push it to a plain-HTTP registry.

The test cluster cannot pull anything from the internet, so the images it needs itself
(the pause container, CoreDNS) are static binaries we compile, wrapped here into images.
Standard library only, so the harness works before (and without) Shipway's virtualenv.
Layers are reproducible (sorted entries, fixed owners and times, gzip without a
timestamp) and their compressed blobs are cached by content, so pushing again is cheap.

    oci_image.py --registry 127.0.0.1:5110 --name pause --tag 3.10.1 \\
        --file /path/to/pause:/pause --entrypoint /pause --user 65535:65535
        [--symlink /bin/sh:busybox ...]

prints the pushed reference, NAME:TAG@sha256:....
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Entry:
    dest: str  # absolute path inside the image
    source: Path | None = None  # a regular file's content
    mode: int = 0o755
    link: str | None = None  # or a symbolic link's target


@dataclass(frozen=True)
class Blob:
    media_type: str
    digest: str
    data: bytes

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(entries: list[Entry]) -> bytes:
    """A tar of the files and their parent directories, byte-for-byte reproducible."""
    dirs: set[str] = set()
    for entry in entries:
        parts = entry.dest.strip("/").split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for entry in sorted(entries, key=lambda e: e.dest):
            info = tarfile.TarInfo(entry.dest.strip("/"))
            info.mode, info.mtime = entry.mode, 0
            if entry.link is not None:
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.link, 0o777
                tar.addfile(info)
                continue
            assert entry.source is not None
            data = entry.source.read_bytes()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_cached(tar: bytes, cache: Path) -> bytes:
    """gzip is the slow part (tens of MB for CoreDNS): keep the result by the tar's digest."""
    path = cache / (hashlib.sha256(tar).hexdigest() + ".tar.gz")
    if path.exists():
        return path.read_bytes()
    data = gzip.compress(tar, compresslevel=6, mtime=0)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build(
    entries: list[Entry], entrypoint: list[str], user: str, cache: Path
) -> tuple[Blob, Blob, Blob]:
    tar = layer_tar(entries)
    layer_data = gzip_cached(tar, cache)
    layer = Blob(LAYER, sha256(layer_data), layer_data)
    config_doc = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": entrypoint, "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hack/cluster"}],
    }
    config_data = canonical(config_doc)
    config = Blob(CONFIG, sha256(config_data), config_data)
    manifest_data = canonical(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
        }
    )
    return layer, config, Blob(MANIFEST, sha256(manifest_data), manifest_data)


class Registry:
    """The four calls of the distribution API a push needs, over plain HTTP."""

    def __init__(self, host: str) -> None:
        self.host = host

    def _call(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(self.host, timeout=120)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def push_blob(self, name: str, blob: Blob) -> None:
        if self._call("HEAD", f"/v2/{name}/blobs/{blob.digest}").status == 200:
            return
        started = self._call("POST", f"/v2/{name}/blobs/uploads/")
        if started.status != 202:
            raise SystemExit(f"oci_image: starting an upload to {name} answered {started.status}")
        location = urlsplit(started.headers["Location"])
        query = (location.query + "&" if location.query else "") + f"digest={blob.digest}"
        done = self._call(
            "PUT",
            f"{location.path}?{query}",
            blob.data,
            {"Content-Type": "application/octet-stream"},
        )
        if done.status != 201:
            raise SystemExit(f"oci_image: uploading {blob.digest} answered {done.status}")

    def put_manifest(self, name: str, tag: str, manifest: Blob) -> None:
        done = self._call(
            "PUT", f"/v2/{name}/manifests/{tag}", manifest.data, {"Content-Type": MANIFEST}
        )
        if done.status != 201:
            raise SystemExit(f"oci_image: putting {name}:{tag} answered {done.status}")


def parse_file(spec: str) -> Entry:
    source, dest, *mode = spec.split(":")
    return Entry(dest, Path(source), int(mode[0], 8) if mode else 0o755)


def parse_link(spec: str) -> Entry:
    dest, target = spec.split(":")
    return Entry(dest, link=target)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="HOST:PORT, plain HTTP")
    parser.add_argument("--name", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--file", action="append", required=True, help="SRC:DEST[:MODE]")
    parser.add_argument("--symlink", action="append", default=[], help="DEST:TARGET")
    parser.add_argument("--entrypoint", action="append", required=True)
    parser.add_argument("--user", default="65534:65534")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/shipway-ci/images")
    args = parser.parse_args(argv)
    layer, config, manifest = build(
        [parse_file(f) for f in args.file] + [parse_link(s) for s in args.symlink],
        args.entrypoint,
        args.user,
        args.cache,
    )
    registry = Registry(args.registry)
    for blob in (layer, config):
        registry.push_blob(args.name, blob)
    registry.put_manifest(args.name, args.tag, manifest)
    print(f"{args.registry}/{args.name}:{args.tag}@{manifest.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
