"""Make a cluster's registry hold what `shipway deploy` needs, and point the cluster's
platform settings at it: the Python base image and the addon servers built on this
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
    rootfs = _last_line([str(ROOT / "hack" / "infra" / "base-rootfs.sh")])
    version = Path(f"{rootfs}.python-version").read_text().strip()
    base = push_rootfs(Path(rootfs), version, registry, None, store, "3.11")
    settings = [f"registry={registry}", f"base_image={base}", "expose=nodeport"]
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


def _last_line(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--registry", required=True, help="HOST:PORT the cluster pulls from")
    args = parser.parse_args()
    for setting in prepare(args.kubeconfig, args.registry):
        print(setting)


if __name__ == "__main__":
    main()
