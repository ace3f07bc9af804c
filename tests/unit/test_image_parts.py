"""Image building blocks that need no registry: references, layers, app files, config."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from shipway import project
from shipway.errors import ShipwayError
from shipway.image import reference
from shipway.image.appfiles import app_entries
from shipway.image.blobs import BlobStore
from shipway.image.config import image_config
from shipway.image.deps import _portable_shebang, target_for
from shipway.image.dockerfile import dockerfile
from shipway.image.layer import Entry, write_layer
from tests.conftest import EXAMPLES
from tests.helpers.appdir import make_app


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python:3.12-slim", "docker.io", "library/python", "3.12-slim", None),
        ("python", "docker.io", "library/python", "latest", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("127.0.0.1:5000/apps/tasks:v1", "127.0.0.1:5000", "apps/tasks", "v1", None),
        ("localhost/tasks", "localhost", "tasks", "latest", None),
        ("ghcr.io/o/a@sha256:" + "a" * 64, "ghcr.io", "o/a", None, "sha256:" + "a" * 64),
        (
            "reg.example.com:443/a/b:c@sha256:" + "b" * 64,
            "reg.example.com:443",
            "a/b",
            "c",
            "sha256:" + "b" * 64,
        ),
    ],
)
def test_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = reference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


@pytest.mark.parametrize(
    "text",
    ["Upper/Case:1", "a:b:c", "reg:5000/x:bad tag", "x@sha256:12", "a//b", "", "a:" + "t" * 200],
)
def test_bad_references(text: str) -> None:
    with pytest.raises(ShipwayError, match=r"is not a valid --tag; ") as caught:
        reference.parse(text, "--tag")
    assert "\n" not in str(caught.value)


def test_docker_hub_api_host() -> None:
    assert reference.parse("python:3.12").api_host == "registry-1.docker.io"
    assert reference.parse("127.0.0.1:5000/a").api_host == "127.0.0.1:5000"


def _members(store: BlobStore, digest: str) -> list[tarfile.TarInfo]:
    data = gzip.decompress(store.path(digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def test_layers_are_reproducible(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"b.py": "print(2)\n", "a.py": "print(1)\n", "pkg/x.py": ""})
    os.utime(app / "a.py", (1, 1))
    store = BlobStore(tmp_path / "blobs")
    first = write_layer(app_entries(app, "app"), store)
    os.utime(app / "a.py", (999999, 999999))  # touching a file changes nothing
    (app / "b.py").chmod(0o600)
    second = write_layer(app_entries(app, "app"), store)
    assert first == second
    members = _members(store, first.digest)
    assert [m.name for m in members] == ["app", "app/a.py", "app/b.py", "app/pkg", "app/pkg/x.py"]
    # The app's user owns its files, so it may write beside its code (as on Heroku).
    assert {(m.uid, m.gid, m.mtime) for m in members} == {(10001, 10001, 0)}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    raw = store.path(first.digest).read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip MTIME field
    (app / "a.py").write_text("print(3)\n")
    assert write_layer(app_entries(app, "app"), store).digest != first.digest


def test_app_files_honour_ignores(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            ".dockerignore": "secret.txt\nlogs/\n",
            "app.py": "",
            "secret.txt": "x",
            "logs/a.log": "",
            "__pycache__/a.pyc": "",
            ".git/HEAD": "",
            "keep/me.txt": "",
        },
    )
    names = sorted(e.name for e in app_entries(app, "app"))
    assert names == ["app", "app/.dockerignore", "app/app.py", "app/keep", "app/keep/me.txt"]


def test_gitignore_used_without_dockerignore(tmp_path: Path) -> None:
    app = make_app(tmp_path, {".gitignore": "*.db\n", "app.py": "", "data.db": ""})
    assert "app/data.db" not in [e.name for e in app_entries(app, "app")]


def test_symlinks_inside_are_kept_outside_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"real.py": ""})
    (app / "alias.py").symlink_to("real.py")
    entries = {e.name: e for e in app_entries(app, "app")}
    assert entries["app/alias.py"] == Entry("app/alias.py", link="real.py", owner=10001)
    (tmp_path / "outside.txt").write_text("secret")
    (app / "escape.txt").symlink_to("../outside.txt")
    with pytest.raises(ShipwayError, match=r"escape.txt: the symlink points outside the app "):
        app_entries(app, "app")
    (app / "escape.txt").unlink()
    (app / "abs").symlink_to("/etc/passwd")
    with pytest.raises(ShipwayError, match="outside the app directory"):
        app_entries(app, "app")


def test_image_config() -> None:
    proj = project.load(EXAMPLES / "tasks")
    base = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin", "PYTHON_VERSION=3.12.4"],
            "Entrypoint": ["docker-entrypoint.sh"],
            "Cmd": ["python3"],
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
        "history": [{"created_by": "base"}],
    }
    from shipway.image.layer import Layer  # noqa: PLC0415

    layers = [
        Layer("sha256:" + "2" * 64, "sha256:" + "3" * 64, 1),
        Layer("sha256:" + "4" * 64, "sha256:" + "5" * 64, 1),
    ]
    config = image_config(
        base, proj.plan, "tasks", layers, {"org.opencontainers.image.revision": "abc"}
    )
    inner = config["config"]
    assert "Entrypoint" not in inner
    assert inner["User"] == "10001:10001"
    assert inner["WorkingDir"] == "/app"
    assert inner["ExposedPorts"] == {"5000/tcp": {}}
    assert "PATH=/opt/shipway/deps/bin:/usr/local/bin:/usr/bin" in inner["Env"]
    assert "PYTHONPATH=/opt/shipway/deps" in inner["Env"]
    assert "PORT=5000" in inner["Env"]
    assert inner["Cmd"][:2] == ["/bin/sh", "-c"] and "gunicorn" in inner["Cmd"][2]
    assert inner["Labels"]["org.opencontainers.image.revision"] == "abc"
    assert config["rootfs"]["diff_ids"] == [
        "sha256:" + "1" * 64,
        "sha256:" + "3" * 64,
        "sha256:" + "5" * 64,
    ]
    assert len(config["history"]) == 3
    assert config["created"] == "1970-01-01T00:00:00Z"


def test_target_follows_the_base_python() -> None:
    plan = project.load(EXAMPLES / "tasks").plan
    assert target_for({"PYTHON_VERSION": "3.11.2"}, "amd64", plan).python_version == "3.11"
    assert target_for({}, "arm64", plan).platform == "aarch64-manylinux_2_28"
    with pytest.raises(ShipwayError, match="architecture 's390x' is not supported"):
        target_for({}, "s390x", plan)


def test_shebangs_become_portable() -> None:
    assert _portable_shebang("#!/root/.pyenv/bin/python\nimport x\n") == (
        "#!/usr/bin/env python3\nimport x\n"
    )
    trampoline = "#!/bin/sh\n'''exec' '/very/long/python' \"$0\" \"$@\"\n' '''\nimport x\n"
    assert _portable_shebang(trampoline) == "#!/usr/bin/env python3\nimport x\n"
    assert _portable_shebang("#!/bin/bash\necho\n") == "#!/bin/bash\necho\n"


def test_dockerfile_with_ca_bundle() -> None:
    plan = project.load(EXAMPLES / "tasks").plan
    text = dockerfile(plan, "127.0.0.1:5000/base/python:3.11", ca_bundle=True)
    assert text.splitlines()[1] == "FROM 127.0.0.1:5000/base/python:3.11"
    assert "COPY .shipway-ca.pem /tmp/" in text
    assert (
        "RUN export PIP_CERT=/tmp/.shipway-ca.pem SSL_CERT_FILE=/tmp/.shipway-ca.pem && pip install "
        "-r requirements.txt gunicorn==23.0.0 && rm -f /tmp/.shipway-ca.pem"
    ) in text


@pytest.mark.parametrize(
    ("host", "insecure", "scheme"),
    [
        ("127.0.0.1:5000", False, "http"),
        ("localhost:5000", False, "http"),
        ("[::1]:5000", False, "http"),
        ("127.8.0.1", False, "http"),
        ("registry.example.com", False, "https"),
        ("10.0.0.5:5000", False, "https"),
        ("10.0.0.5:5000", True, "http"),
    ],
)
def test_plain_http_only_on_loopback_or_when_asked(host: str, insecure: bool, scheme: str) -> None:
    from shipway.image.registry import RegistryClient  # noqa: PLC0415

    assert RegistryClient(host, host, None, insecure=insecure).base == f"{scheme}://{host}"
