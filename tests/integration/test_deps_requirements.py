"""Requirement files with includes, constraints and local wheels, installed with real uv
from the index: the layer is rebuilt when any file it was made from changes, and only
then; files outside the app are refused before uv runs."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from shipway import project
from shipway.errors import SpecError
from shipway.image.blobs import BlobStore
from shipway.image.deps import Target, dependencies_layer
from tests.helpers.appdir import make_app as make_files

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
TARGET = Target(HOST, "x86_64-manylinux_2_28")
DEPS = "opt/shipway/deps"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))


def make_app(root: Path, files: dict[str, str]) -> Path:
    return make_files(root, {"Procfile": "web: python3 app.py\n", "app.py": "", **files})


def build(app: Path, store: BlobStore) -> tuple[str, bool, dict[str, bytes]]:
    """The layer's digest, whether it was cached, and its files' contents."""
    layer, cached = dependencies_layer(app, project.load(app).plan, TARGET, store)
    data = gzip.decompress(store.path(layer.digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        files = {m.name: (tar.extractfile(m) or io.BytesIO()).read() for m in tar if m.isfile()}
    return layer.digest, cached, files


def write_wheel(path: Path, version: str, text: str) -> None:
    """A minimal valid wheel of a module ``tiny``."""
    info = f"tiny-{version}.dist-info"
    files = {
        "tiny.py": text.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tiny\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = (
        "".join(
            f"{name},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}\n"
            for name, data in files.items()
        ).encode()
        + f"{info}/RECORD,,\n".encode()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_includes_constraints_and_a_local_wheel_all_key_the_layer(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "requirements.txt": "-r requirements/prod.txt\n",
            "requirements/prod.txt": (
                "-r base.txt\n-c ../constraints.txt\nsix\n./vendor/tiny-1.0-py3-none-any.whl\n"
            ),
            "requirements/base.txt": "idna\n",
            "constraints.txt": "six==1.16.0\nidna==3.10\n",
        },
    )
    wheel = app / "vendor" / "tiny-1.0-py3-none-any.whl"
    write_wheel(wheel, "1.0", "A = 1\n")
    store = BlobStore(tmp_path / "blobs")
    digest, _, files = build(app, store)
    assert f"{DEPS}/six-1.16.0.dist-info/METADATA" in files
    assert f"{DEPS}/idna-3.10.dist-info/METADATA" in files
    assert files[f"{DEPS}/tiny.py"] == b"A = 1\n"
    url = json.loads(files[f"{DEPS}/tiny-1.0.dist-info/direct_url.json"])["url"]
    assert url == "file:///app/vendor/tiny-1.0-py3-none-any.whl"  # the image's path

    (app / "app.py").write_text("print('a code change')\n")
    assert build(app, store)[:2] == (digest, True)

    (app / "constraints.txt").write_text("six==1.15.0\nidna==3.10\n")
    digest, cached, files = build(app, store)
    assert not cached and f"{DEPS}/six-1.15.0.dist-info/METADATA" in files

    (app / "requirements" / "base.txt").write_text("idna  # for URLs\n")
    assert not build(app, store)[1]

    write_wheel(wheel, "1.0", "A = 2\n")
    digest, cached, files = build(app, store)
    assert not cached and files[f"{DEPS}/tiny.py"] == b"A = 2\n"


def test_an_editable_app_in_requirements_adds_its_declared_dependencies(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "requirements.txt": "six==1.16.0\n-e .\n",
            "pyproject.toml": (
                '[project]\nname = "notes"\nversion = "0.1"\ndependencies = ["idna==3.10"]\n'
                '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
            ),
            "src/notes/__init__.py": "",
        },
    )
    _, _, files = build(app, BlobStore(tmp_path / "blobs"))
    assert files[f"{DEPS}/__shipway_notes.pth"] == b"/app/src\n"
    for dist in ("notes-0.1", "six-1.16.0", "idna-3.10"):
        assert f"{DEPS}/{dist}.dist-info/METADATA" in files


def test_an_include_outside_the_app_is_refused_before_installing(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "six\n-r ../../etc/x\n"})
    with pytest.raises(SpecError) as caught:
        build(app, BlobStore(tmp_path / "blobs"))
    assert str(caught.value) == (
        "requirements.txt:2: ../../etc/x is outside the app directory; keep the file inside it"
    )


def test_a_monorepo_service_includes_the_repository_requirements_when_given_the_context(
    tmp_path: Path,
) -> None:
    repo = make_files(
        tmp_path,
        {
            "requirements/common.txt": "six==1.16.0\n",
            "services/api/requirements.txt": "-r ../../requirements/common.txt\n",
            "services/api/Procfile": "web: python3 api.py\n",
            "services/api/api.py": "",
        },
        "repo",
    )
    api, store = repo / "services" / "api", BlobStore(tmp_path / "blobs")
    plan = project.load(api).plan
    layer, _ = dependencies_layer(api, plan, TARGET, store, context=repo)
    assert dependencies_layer(api, plan, TARGET, store, context=repo) == (layer, True)
    (repo / "requirements" / "common.txt").write_text("six==1.15.0\n")
    assert not dependencies_layer(api, plan, TARGET, store, context=repo)[1]
    with pytest.raises(SpecError, match="outside the app directory"):
        dependencies_layer(api, plan, TARGET, store)
