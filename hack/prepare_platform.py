"""Make a cluster's registry hold what `shipway deploy` needs, and point the cluster's
platform settings at it: a Python base image for every CPython Debian ships as a package
(bookworm's 3.11, trixie's 3.13, sid's 3.14) and the addon servers, all built on this
machine (nothing can be pulled from Docker Hub here).

    .venv/bin/python hack/prepare_platform.py --kubeconfig KUBECONFIG --registry HOST:PORT

Run by hack/cluster-up.sh (`make cluster-up`) for the repo's cluster, and by the e2e tests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hack.platform_images import push_addon_image, push_rootfs  # noqa: E402
from shipway.image.blobs import BlobStore  # noqa: E402

#: The Debian suites whose Python is offered; bookworm's is also the default base image.
BASE_SUITES = ("bookworm", "trixie", "sid")
#: Each addon's mirror repository and the tag of the server version it really is
#: (FerretDB stands in for MongoDB 6.0; Debian bookworm has PostgreSQL 15, Redis 7.0).
ADDON_MIRRORS = {
    "mongodb": ("mirror/mongo", "6.0"),
    "postgresql": ("mirror/postgres", "15"),
    "redis": ("mirror/redis", "7.0"),
}


def prepare(kubeconfig: Path, registry: str) -> list[str]:
    """Push the images and save the platform settings; returns the settings."""
    cache = Path(os.environ.get("SHIPWAY_CACHE") or Path.home() / ".cache" / "shipway-ci")
    store = BlobStore(cache / "blobs")
    settings = [f"registry={registry}", "expose=nodeport"]
    for suite, rootfs in zip(BASE_SUITES, _base_rootfs(BASE_SUITES), strict=True):
        version = Path(f"{rootfs}.python-version").read_text().strip()
        minor = ".".join(version.split(".")[:2])
        base = push_rootfs(rootfs, version, registry, None, store, minor, suite)
        settings.append(f"base_images.{minor}={base}")
        if suite == BASE_SUITES[0]:
            settings.append(f"base_image={base}")
    for kind, (repository, tag) in ADDON_MIRRORS.items():
        push_addon_image(kind, registry, None, store, repository=repository, tag=tag)
        settings.append(f"addon_images.{kind}={registry}/{repository}")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    subprocess.run(
        [sys.executable, "-m", "shipway", "platform", "set", *settings],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return settings


def _base_rootfs(suites: tuple[str, ...]) -> list[Path]:
    """The cached root filesystem of each suite, the missing ones debootstrapped at once
    (each mostly waits on the mirror)."""
    script = str(ROOT / "hack" / "infra" / "base-rootfs.sh")
    running = [
        subprocess.Popen(
            [script],
            env={**os.environ, "BASE_SUITE": suite},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for suite in suites
    ]
    paths = []
    for suite, process in zip(suites, running, strict=True):
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            sys.exit(f"prepare_platform: the {suite} base image failed:\n{err[-3000:]}")
        paths.append(Path(out.strip().splitlines()[-1]))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--registry", required=True, help="HOST:PORT the cluster pulls from")
    args = parser.parse_args()
    for setting in prepare(args.kubeconfig, args.registry):
        print(setting)


if __name__ == "__main__":
    main()
