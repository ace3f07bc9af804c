"""The images the platform needs that this machine builds itself, pushed with Shipway's
own image code: nothing can be pulled from Docker Hub here.

* The Python base image: a debootstrapped Debian root filesystem with python3
  (``hack/infra/base-rootfs.sh``), one layer, configured like the official image.
* The addon servers (``hack/images/build.sh KIND``, cached by version): redis and
  postgresql from Debian bookworm's packages, mongodb as FerretDB v1 with its SQLite
  backend. Each is one reproducible root filesystem layer; the image config is the part
  the official images' Dockerfiles give (user 999:999, entrypoint, ports, volumes).

Used by hack/prepare_platform.py (``make cluster-up``), the tests and the benchmarks;
``python -m hack.platform_images KIND REGISTRY`` pushes an addon image from a shell.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path
from typing import Any

from hack import scripts
from shipway.image import oci
from shipway.image.auth import Credentials, lookup
from shipway.image.blobs import BlobStore, sha256_bytes
from shipway.image.layer import Layer, cached_layer, tar_layer
from shipway.image.push import push_image

BASE_REPOSITORY = "base/python"
HACK = Path(__file__).resolve().parent
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: The image config of each kind: what the official image's Dockerfile sets, for what the
#: entrypoints in hack/images/KIND expect.
CONFIGS: dict[str, dict[str, Any]] = {
    "redis": {
        "Env": [f"PATH={PATH}", "LANG=C.UTF-8"],
        "Entrypoint": ["docker-entrypoint.sh"],
        "Cmd": ["redis-server"],
        "ExposedPorts": {"6379/tcp": {}},
        "User": "999:999",
        "WorkingDir": "/data",
        "Volumes": {"/data": {}},
    },
    "postgresql": {
        "Env": [
            f"PATH=/usr/lib/postgresql/15/bin:{PATH}",
            "LANG=C.UTF-8",
            "PGDATA=/var/lib/postgresql/data",
        ],
        "Entrypoint": ["docker-entrypoint.sh"],
        "Cmd": ["postgres"],
        "ExposedPorts": {"5432/tcp": {}},
        "User": "999:999",
        "StopSignal": "SIGINT",  # postgres' "fast" shutdown, as the official image
        "Volumes": {"/var/lib/postgresql/data": {}},
    },
    "mongodb": {
        "Env": [
            f"PATH={PATH}",
            "FERRETDB_HANDLER=sqlite",
            "FERRETDB_SQLITE_URL=file:/data/db/",
            "FERRETDB_STATE_DIR=/data/db",
            "FERRETDB_LISTEN_ADDR=:27017",
            "FERRETDB_TELEMETRY=disable",
        ],
        "Entrypoint": ["docker-entrypoint.sh"],
        "Cmd": ["ferretdb"],
        "ExposedPorts": {"27017/tcp": {}},
        "User": "999:999",
        "WorkingDir": "/data/db",
        "Volumes": {"/data/db": {}},
    },
}
TITLES = {
    "redis": "Redis (Debian bookworm's redis-server)",
    "postgresql": "PostgreSQL (Debian bookworm's postgresql-15)",
    "mongodb": "FerretDB v1 with SQLite, a MongoDB wire-protocol server",
}
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def push_rootfs(
    rootfs: Path,
    python_version: str,
    host: str,
    credentials: Credentials | None,
    store: BlobStore,
    tag: str,
    suite: str = "bookworm",
) -> str:
    """Push ``rootfs`` as a one-layer image like the official python one; returns its ref."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": {
            "Env": [f"PATH={PATH}", "LANG=C.UTF-8", f"PYTHON_VERSION={python_version}"],
            "Cmd": ["python3"],
        },
        "history": [{"created": oci.EPOCH_ISO, "created_by": f"debootstrap {suite} + python3"}],
    }
    name = f"{host}/{BASE_REPOSITORY}:{tag}"
    push_image(name, config, [_layer(rootfs, store)], store, credentials)
    return name


def build_addon_rootfs(kind: str, timeout: float = 1800) -> Path:
    """The cached root filesystem tar of ``kind`` (``hack/images/build.sh``, cold or warm)."""
    if kind not in CONFIGS:
        raise ValueError(f"unknown addon image {kind!r}; use one of {', '.join(CONFIGS)}")
    built = scripts.output(HACK / "images" / "build.sh", kind, timeout=timeout)
    return Path(built.strip().splitlines()[-1])


def push_addon_image(
    kind: str,
    host: str,
    credentials: Credentials | None,
    store: BlobStore,
    *,
    repository: str | None = None,
    tag: str | None = None,
) -> str:
    """Build (or take from the cache) and push the ``kind`` addon image; returns its ref.

    The reference is ``HOST/REPOSITORY:TAG``; by default ``shipway/<kind>`` and the
    server's version (``7.0.15``, ``15.14``, ``1.24.2`` for FerretDB). Point an addon at
    it with e.g. ``repository="mongo", tag="7.0"``, the name and tag Shipway renders.
    """
    rootfs = build_addon_rootfs(kind)
    version = Path(f"{rootfs}.version").read_text().strip()
    labels = {
        "org.opencontainers.image.title": TITLES[kind],
        "org.opencontainers.image.version": version,
    }
    config: dict[str, Any] = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": CONFIGS[kind] | {"Labels": labels},
        "history": [{"created": oci.EPOCH_ISO, "created_by": f"hack/images/build.sh {kind}"}],
    }
    name = f"{host}/{repository or 'shipway/' + kind}:{tag or version}"
    push_image(name, config, [_layer(rootfs, store)], store, credentials)
    return name


def _layer(rootfs: Path, store: BlobStore) -> Layer:
    """The root filesystem's layer, gzipped once per tar (the tars are rebuilt, never
    edited in place, so path, size and time name the content)."""
    stat = rootfs.stat()
    key = sha256_bytes(f"{rootfs.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return cached_layer(f"rootfs-{key[7:39]}", lambda: tar_layer(rootfs, store), store)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="Build and push an addon server image.")
    parser.add_argument("kind", choices=sorted(CONFIGS))
    parser.add_argument("registry", help="HOST[:PORT] of the registry")
    parser.add_argument("--repository", help="default: shipway/KIND")
    parser.add_argument("--tag", help="default: the server's version")
    args = parser.parse_args()
    print(
        push_addon_image(
            args.kind,
            args.registry,
            lookup(args.registry),  # SHIPWAY_REGISTRY_USERNAME/PASSWORD or docker login
            BlobStore(),
            repository=args.repository,
            tag=args.tag,
        )
    )


if __name__ == "__main__":
    main()
