"""The dependencies layer with real packages from the index: wheels for the target,
building from source only where this machine's Python is the target's."""

from __future__ import annotations

import gzip
import importlib.util
import io
import marshal
import sys
import tarfile
from pathlib import Path

import pytest

from shipway import project
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.deps import Target, dependencies_layer
from tests.helpers.appdir import make_app

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
PLATFORM = "x86_64-manylinux_2_28"


def layer_names(store: BlobStore, digest: str) -> list[str]:
    data = gzip.decompress(store.path(digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))


def test_wheels_for_another_python_version(tmp_path: Path) -> None:
    """pymongo ships compiled wheels: the layer holds the one for the target, 3.12."""
    app = make_app(tmp_path, {"requirements.txt": "pymongo==4.10.1\n", "app.py": ""})
    store = BlobStore(tmp_path / "blobs")
    layer, cached = dependencies_layer(app, project.load(app).plan, Target("3.12", PLATFORM), store)
    assert not cached
    names = layer_names(store, layer.digest)
    assert any(n.startswith("opt/shipway/deps/bson/_cbson.cpython-312-") for n in names)
    if HOST != "3.12":  # this machine's Python cannot compile 3.12's bytecode
        assert not any(n.endswith(".pyc") for n in names)
    again, cached = dependencies_layer(app, project.load(app).plan, Target("3.12", PLATFORM), store)
    assert cached and again == layer


def test_bytecode_for_this_python_is_hash_based_with_image_paths(tmp_path: Path) -> None:
    """Pods cannot write .pyc files (read-only root): the layer brings them, valid whatever
    the files' times and naming the files where they are in the image."""
    app = make_app(tmp_path, {"requirements.txt": "six==1.16.0\n", "app.py": ""})
    store = BlobStore(tmp_path / "blobs")
    layer, _ = dependencies_layer(app, project.load(app).plan, Target(HOST, PLATFORM), store)
    tag = f"cpython-{HOST.replace('.', '')}"
    name = f"opt/shipway/deps/__pycache__/six.{tag}.pyc"
    data = gzip.decompress(store.path(layer.digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        pyc = member.read()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked
    assert marshal.loads(pyc[16:]).co_filename == "/opt/shipway/deps/six.py"


def test_no_wheel_for_another_python_is_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "psutil==5.9.0\n", "app.py": ""})
    other = "3.12" if HOST != "3.12" else "3.13"
    with pytest.raises(ShipwayError) as caught:
        dependencies_layer(
            app, project.load(app).plan, Target(other, PLATFORM), BlobStore(tmp_path / "blobs")
        )
    message = str(caught.value)
    assert message.startswith(f"requirements.txt:1: psutil has no wheel for Python {other}")
    assert "--builder docker" in message and "\n" not in message


def test_no_wheel_for_this_python_is_built_here(tmp_path: Path) -> None:
    """psutil 5.9.0 predates wheels for 3.11+: it is compiled with this machine's Python."""
    app = make_app(tmp_path, {"requirements.txt": "psutil==5.9.0\n", "app.py": ""})
    store = BlobStore(tmp_path / "blobs")
    layer, _ = dependencies_layer(app, project.load(app).plan, Target(HOST, PLATFORM), store)
    tag = f"cpython-{HOST.replace('.', '')}-x86_64-linux-gnu.so"
    assert any(
        n.startswith("opt/shipway/deps/psutil/_psutil_linux.") and n.endswith(tag)
        for n in layer_names(store, layer.digest)
    )


def test_unknown_package_fails_with_the_resolver_reason(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, {"requirements.txt": "no-such-package-shipway-test==1.0\n", "app.py": ""}
    )
    with pytest.raises(
        ShipwayError,
        match=r"^requirements.txt: installing the dependencies "
        r"failed: .*no-such-package-shipway-test",
    ):
        dependencies_layer(
            app, project.load(app).plan, Target(HOST, PLATFORM), BlobStore(tmp_path / "blobs")
        )
