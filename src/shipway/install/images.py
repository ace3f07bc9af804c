"""The two images an install runs, made on the installer's machine (nothing is pulled
from the internet):

* the registry: Debian's ``docker-registry`` (distribution 2.8) with the C library it
  links, in one reproducible layer (no shell, no package manager), run as a non-root user;
* the server: Shipway's own source tree built by Shipway's builder, like any app (the
  ``server`` extra's requirements beside the project), started as
  ``shipway server --host 0.0.0.0 --port 8700``.

Layers are cached by content (``shipway.image.layer``), so a second install pushes
nothing new unless the source changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import shipway
from shipway import objects as o
from shipway import project
from shipway.errors import ShipwayError
from shipway.image import oci
from shipway.image.blobs import BlobStore, sha256_bytes, sha256_file
from shipway.image.builder import BuildRequest, build
from shipway.image.layer import Entry, cached_layer, with_parents, write_layer
from shipway.image.progress import Progress
from shipway.image.push import push_image
from shipway.image.reference import parse

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
SERVER_YAML = """\
# Written by shipway server install: Shipway's own server, built like any app.
name: shipway-server
runtime: python-3.11
port: 8700
processes:
  web: shipway server --host 0.0.0.0 --port 8700
"""


def _libraries(binary: Path) -> list[Path]:
    """The shared libraries ``binary`` loads (ldd), the loader included."""
    try:
        out = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts else ""
        if path.startswith("/"):
            found.append(Path(path))
    return found


def registry_image(host: str, insecure: bool, store: BlobStore) -> str:
    """Push the registry's image to ``host``; its reference by digest."""
    if not REGISTRY_BINARY.exists():
        raise ShipwayError(
            f"{REGISTRY_BINARY} is missing: install Debian's docker-registry package "
            "(apt-get install docker-registry), or name a registry with --registry HOST:PORT"
        )
    entries = [Entry("usr/bin/registry", REGISTRY_BINARY, executable=True)]
    for lib in _libraries(REGISTRY_BINARY):
        entries.append(Entry(str(lib.resolve()).lstrip("/"), lib.resolve(), executable=True))
        if lib.resolve() != lib:
            entries.append(Entry(str(lib).lstrip("/"), link=str(lib.resolve())))
    entries += [Entry("etc/docker/registry"), Entry("var/lib/registry"), Entry("tmp")]
    described = [[e.name, e.link, sha256_file(e.source) if e.source else None] for e in entries]
    key = sha256_bytes(json.dumps(sorted(described, key=str)).encode())[7:39]
    unique = {e.name: e for e in entries}
    layer = cached_layer(
        f"registry-{key}", lambda: write_layer(with_parents(list(unique.values())), store), store
    )[0]
    uid = str(o.APP_UID)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": oci.EPOCH_ISO,
        "config": {
            "Entrypoint": ["/usr/bin/registry"],
            "Cmd": ["serve", "/etc/docker/registry/config.yml"],
            "User": f"{uid}:{uid}",
            "ExposedPorts": {"5000/tcp": {}},
            "WorkingDir": "/",
        },
        "history": [{"created": oci.EPOCH_ISO, "created_by": "shipway server install"}],
    }
    name = f"{host}/shipway/registry:{sha256_file(REGISTRY_BINARY)[7:19]}"
    parse(name, "registry image")  # a bad host says so before anything is pushed
    digest = push_image(name, config, [layer], store)
    return f"{name.rpartition(':')[0]}@{digest}"


def source_root() -> Path:
    """The checkout Shipway runs from (``src/shipway`` beside ``pyproject.toml``)."""
    root = Path(shipway.__file__).resolve().parent.parent.parent
    if not (root / "pyproject.toml").exists() or not (root / "src" / "shipway").is_dir():
        raise ShipwayError(
            "shipway server install builds the server from Shipway's source: run it from a "
            "checkout (pip install -e .), or pass --server-image REF of an image built before"
        )
    return root


def _stage(root: Path, into: Path) -> None:
    """The source tree as an app: the project, its ``server`` extra as requirements, a
    shipway.yaml with the server's start command, and Debian's git in its Aptfile."""
    shutil.copytree(
        root / "src",
        into / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).exists():
            shutil.copy2(root / name, into / name)
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    extra = meta["project"].get("optional-dependencies", {}).get("server", [])
    (into / "requirements.txt").write_text("".join(f"{r}\n" for r in extra))
    (into / "shipway.yaml").write_text(SERVER_YAML)
    # git http-backend serves the apps' repositories (git push is a deploy).
    (into / "Aptfile").write_text("git\n")


def server_image(
    push: str, base: str | None, insecure: bool, progress: Progress, root: Path | None = None
) -> str:
    """Build Shipway's server from source and push it as ``push`` (HOST/REPO:TAG);
    its reference by digest."""
    with tempfile.TemporaryDirectory(prefix="shipway-server-") as tmp:
        stage = Path(tmp) / "shipway-server"
        _stage(root or source_root(), stage)
        proj = project.load(stage)
        base_ref = parse(base or proj.plan.base_image, "base image")
        request = BuildRequest(proj, base_ref, parse(push, "server image"), insecure=insecure)
        built = build(request, progress=progress)
    return f"{push.rpartition(':')[0]}@{built.digest}"
