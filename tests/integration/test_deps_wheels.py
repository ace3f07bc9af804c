"""Dependencies without wheels for the target: compiled with a Python of the target's
version found on this machine, else one line naming where the package is asked for and
its binary alternative."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from shipway import project
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.deps import Target, dependencies_layer
from tests.helpers.appdir import make_app as make_files

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
#: Not this machine's architecture: nothing here can compile for it.
ARM = Target(HOST, "aarch64-manylinux_2_28")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))


def make_app(root: Path, files: dict[str, str]) -> Path:
    return make_files(root, {"Procfile": "web: python3 app.py\n", "app.py": "", **files})


def fails(app: Path, target: Target, tmp_path: Path) -> str:
    with pytest.raises(ShipwayError) as caught:
        dependencies_layer(app, project.load(app).plan, target, BlobStore(tmp_path / "b"))
    return str(caught.value)


def test_psycopg2_without_a_wheel_points_to_psycopg2_binary(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "six\n-r requirements/db.txt\n",
                              "requirements/db.txt": "psycopg2==2.9.10\n"})  # fmt: skip
    assert fails(app, ARM, tmp_path) == (
        f"requirements/db.txt:1: psycopg2 has no wheel for Python {HOST} on "
        f"aarch64-manylinux_2_28 and this machine has no Python {HOST} with headers and a C "
        "compiler to build it; use psycopg2-binary instead, or build with --builder docker"
    )


def test_mysqlclient_in_declared_dependencies_points_to_pymysql(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, {"pyproject.toml": '[project]\nname = "a"\ndependencies = ["mysqlclient"]\n'}
    )
    message = fails(app, ARM, tmp_path)
    assert message.startswith("pyproject.toml: mysqlclient has no wheel for Python")
    assert "use PyMySQL instead" in message


def other_python() -> tuple[str, Path]:
    """A Python of another minor version with its headers (this machine's pyenv ones)."""
    for minor in ("3.12", "3.13", "3.11", "3.10"):
        if minor == HOST:
            continue
        pyenv = Path.home().glob(f".pyenv/versions/{minor}.*/bin/python{minor}")
        found = [shutil.which(f"python{minor}"), *sorted(str(p) for p in pyenv)]
        for python in filter(None, found):
            probe = subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if probe.returncode == 0 and Path(probe.stdout.strip(), "Python.h").is_file():
                return minor, Path(python).parent
    message = "no Python of another minor version with headers on this machine"
    if os.environ.get("CI"):  # CI's machine has pyenv's: a skip there would hide a break
        pytest.fail(message)
    pytest.skip(message)


def test_built_with_a_python_of_the_target_version_found_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psutil 5.9.0 has no wheel for 3.11+: it is compiled by that version's Python."""
    minor, bin_dir = other_python()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    app = make_app(tmp_path, {"requirements.txt": "psutil==5.9.0\n"})
    store = BlobStore(tmp_path / "blobs")
    target = Target(minor, "x86_64-manylinux_2_28")
    layer, _ = dependencies_layer(app, project.load(app).plan, target, store)
    with tarfile.open(
        fileobj=io.BytesIO(gzip.decompress(store.path(layer.digest).read_bytes()))
    ) as tar:
        names = tar.getnames()
    tag = f"cpython-{minor.replace('.', '')}-x86_64-linux-gnu.so"
    assert any(n.startswith("opt/shipway/deps/psutil/_psutil_linux.") and n.endswith(tag)
               for n in names)  # fmt: skip
