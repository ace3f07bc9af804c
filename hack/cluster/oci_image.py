"""Make a one-layer image from a few local files and push it to the cluster's registry.

The test cluster cannot pull anything from the internet, so the images it needs itself
(the pause container, CoreDNS) are static binaries we compile, wrapped here into images
with Shipway's own layer writer and registry client: reproducible layers, blobs the
registry has are skipped, and a layer is compressed once per set of files.

    .venv/bin/python hack/cluster/oci_image.py --registry 127.0.0.1:5110 --name pause \\
        --tag 3.10.1 --file /path/to/pause:/pause --entrypoint /pause --user 65535:65535
        [--symlink /bin/sh:busybox ...]

prints the pushed reference, HOST/NAME:TAG@sha256:....
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shipway.image import oci
from shipway.image.blobs import BlobStore, sha256_bytes, sha256_file
from shipway.image.layer import Entry, Layer, cached_layer, with_parents, write_layer
from shipway.image.push import push_image


def parse_file(spec: str) -> Entry:
    source, dest = spec.split(":")
    return Entry(dest.strip("/"), Path(source), executable=True)


def parse_link(spec: str) -> Entry:
    dest, target = spec.split(":")
    return Entry(dest.strip("/"), link=target)


def files_layer(entries: list[Entry], store: BlobStore) -> Layer:
    """Keyed by the files' content, since compressing CoreDNS takes seconds."""
    described = [[e.name, e.link, sha256_file(e.source) if e.source else None] for e in entries]
    key = sha256_bytes(json.dumps(sorted(described, key=str)).encode())[7:39]
    return cached_layer(f"files-{key}", lambda: write_layer(with_parents(entries), store), store)[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="HOST:PORT, plain HTTP")
    parser.add_argument("--name", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--file", action="append", required=True, help="SRC:DEST")
    parser.add_argument("--symlink", action="append", default=[], help="DEST:TARGET")
    parser.add_argument("--entrypoint", action="append", required=True)
    parser.add_argument("--user", default="65534:65534")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/shipway-ci/images")
    args = parser.parse_args(argv)
    store = BlobStore(args.cache)
    entries = [parse_file(f) for f in args.file] + [parse_link(s) for s in args.symlink]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": {"Entrypoint": args.entrypoint, "User": args.user, "WorkingDir": "/"},
        "history": [{"created": oci.EPOCH_ISO, "created_by": "hack/cluster"}],
    }
    name = f"{args.registry}/{args.name}:{args.tag}"
    digest = push_image(name, config, [files_layer(entries, store)], store)
    print(f"{name}@{digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
