"""Addon server images made here, pushed to a registry like the official ones Shipway names.

Nothing may be pulled from Docker Hub on this machine, so the servers behind Shipway's
addons are built here (``hack/images/build.sh KIND``, cached by version): redis and
postgresql from Debian bookworm's packages, mongodb as FerretDB v1 with its SQLite
backend. Each is one reproducible root filesystem layer; this module adds the image
config (the part the official images' Dockerfiles give: user 999:999, entrypoint,
ports, volumes) and pushes both with Shipway's own blob store and registry client.
``push_addon_image`` is what tests and the test cluster use; ``python -m
tests.integration.addon_images KIND REGISTRY`` does the same from a shell.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from shipway.image import oci
from shipway.image.auth import Credentials, lookup
from shipway.image.blobs import BlobStore, sha256_file
from shipway.image.layer import OCI_LAYER
from tests.integration.images import _gzip_layer, push_image

HACK_IMAGES = Path(__file__).resolve().parents[2] / "hack" / "images"
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


class AddonImageError(RuntimeError):
    """The build script failed; the message ends with its last lines."""


def build_addon_rootfs(kind: str, timeout: float = 1800) -> Path:
    """The cached root filesystem tar of ``kind`` (``hack/images/build.sh``, cold or warm)."""
    if kind not in CONFIGS:
        raise ValueError(f"unknown addon image {kind!r}; use one of {', '.join(CONFIGS)}")
    return Path(run_images_script("build.sh", kind, timeout=timeout).strip().splitlines()[-1])


def run_images_script(name: str, *args: str, timeout: float = 600) -> str:
    """Run ``hack/images/<name>``; returns its stdout, raises with its stderr's end."""
    command = [str(HACK_IMAGES / name), *args]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as err:
        raise AddonImageError(f"{' '.join(command)}: no result after {timeout:.0f} s") from err
    if result.returncode != 0:
        tail = "\n".join((result.stderr + result.stdout).rstrip().splitlines()[-30:])
        raise AddonImageError(f"{' '.join(command)} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


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
    layer, diff_id = _layer(rootfs, store)
    config = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": CONFIGS[kind]
        | {
            "Labels": {
                "org.opencontainers.image.title": TITLES[kind],
                "org.opencontainers.image.version": version,
            }
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": oci.EPOCH_ISO, "created_by": f"hack/images/build.sh {kind}"}],
    }
    name = f"{host}/{repository or 'shipway/' + kind}:{tag or version}"
    return push_image(name, config, layer, credentials, store)


def _layer(rootfs: Path, store: BlobStore) -> tuple[oci.Descriptor, str]:
    """The gzipped layer of ``rootfs`` in ``store``, and its diff_id; compressed once per
    tar and store (the digests are kept beside the tar)."""
    known = Path(f"{rootfs}.layer.json")
    if known.is_file():
        data = json.loads(known.read_text())
        if store.has(data["digest"]):
            return oci.Descriptor(OCI_LAYER, data["digest"], data["size"]), data["diff_id"]
    layer = _gzip_layer(rootfs, store)
    diff_id = sha256_file(rootfs)
    known.write_text(json.dumps({"digest": layer.digest, "size": layer.size, "diff_id": diff_id}))
    return layer, diff_id


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
