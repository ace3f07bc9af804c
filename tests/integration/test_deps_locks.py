"""Lock files installed with real uv from the index: ``uv.lock`` (made here by ``uv
lock``), ``poetry.lock`` in Poetry 1.8's format, ``Pipfile.lock``, and Poetry's
constraints without a lock. Only the main group's packages for the image's platform
are installed; dev groups never are."""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
from pathlib import Path

import pytest

from shipway import project
from shipway.errors import SpecError
from shipway.image import installer
from shipway.image.blobs import BlobStore
from shipway.image.deps import Target, dependencies_layer
from tests.helpers.appdir import make_app as make_files

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
TARGET = Target(HOST, "x86_64-manylinux_2_28")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))


def make_app(root: Path, files: dict[str, str]) -> Path:
    return make_files(root, {"Procfile": "web: python3 app.py\n", "app.py": "", **files})


def installed(app: Path, store: BlobStore) -> set[str]:
    """The distributions in the layer, as ``name-version``."""
    layer, _ = dependencies_layer(app, project.load(app).plan, TARGET, store)
    data = gzip.decompress(store.path(layer.digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
    suffix = ".dist-info"
    return {n.split("/")[3].removesuffix(suffix) for n in names if n.count("/") == 3
            and n.endswith(suffix)}  # fmt: skip


def uv_lock(app: Path) -> None:
    done = installer.run([installer.uv(), "lock", "--quiet", "--no-config"], app)
    assert done.returncode == 0, done.stderr


UV_PROJECT = (
    '[project]\nname = "notes"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    'dependencies = ["six==1.16.0"]\n[dependency-groups]\ndev = ["idna==3.10"]\n'
)
HATCHLING = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


def test_uv_lock_installs_the_main_group_and_the_project_when_it_is_a_package(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, {"pyproject.toml": UV_PROJECT})
    uv_lock(app)
    store = BlobStore(tmp_path / "blobs")
    assert installed(app, store) == {"six-1.16.0"}

    package = make_app(
        tmp_path / "package",
        {"pyproject.toml": UV_PROJECT + HATCHLING, "src/notes/__init__.py": ""},
    )
    uv_lock(package)
    assert installed(package, store) == {"six-1.16.0", "notes-0.1.0"}


LOCK_18 = """
[[package]]
name = "click"
version = "8.1.7"
description = "Composable command line interface toolkit"
optional = false
python-versions = ">=3.7"
files = []

[package.dependencies]
colorama = {version = "*", markers = "platform_system == \\"Windows\\""}

[[package]]
name = "colorama"
version = "0.4.6"
optional = false
python-versions = "*"
files = []

[[package]]
name = "iniconfig"
version = "2.0.0"
optional = false
python-versions = ">=3.7"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "0"
"""


def test_poetry_lock_without_groups_installs_what_main_reaches_on_linux(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.poetry]\nname = "app"\nversion = "0"\ndescription = ""\nauthors = []\n'
                "package-mode = false\n"
                '[tool.poetry.dependencies]\npython = "^3.11"\nclick = "^8.1"\n'
                '[tool.poetry.group.dev.dependencies]\niniconfig = "^2"\n'
            ),
            "poetry.lock": LOCK_18,
        },
    )
    assert installed(app, BlobStore(tmp_path / "blobs")) == {"click-8.1.7"}


def test_pipfile_lock_is_preferred_and_its_develop_section_ignored(tmp_path: Path) -> None:
    lock = """{"_meta": {"pipfile-spec": 6}, "default": {
      "six": {"version": "==1.16.0", "markers": "python_version >= '2.7'"},
      "colorama": {"version": "==0.4.6", "markers": "sys_platform == 'win32'"}},
      "develop": {"idna": {"version": "==3.10"}}}"""
    app = make_app(tmp_path, {"Pipfile": '[packages]\nsix = "*"\n', "Pipfile.lock": lock})
    assert installed(app, BlobStore(tmp_path / "blobs")) == {"six-1.16.0"}


def test_poetry_constraints_without_a_lock(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                "[tool.poetry]\npackage-mode = false\n"
                '[tool.poetry.dependencies]\npython = "^3.11"\nsix = "~1.16"\n'
                'idna = {version = "^3", optional = true}\n'
            )
        },
    )
    assert installed(app, BlobStore(tmp_path / "blobs")) == {"six-1.16.0"}


def test_uv_export_reads_nothing_but_the_lock_and_pyproject(tmp_path: Path) -> None:
    """A path source outside the app, written into the lock, is refused."""
    make_files(tmp_path, {"pyproject.toml": '[project]\nname = "lib"\nversion = "1"\n'
                                    + HATCHLING, "src/lib/__init__.py": ""}, "lib")  # fmt: skip
    app = make_app(
        tmp_path / "app",
        {
            "pyproject.toml": UV_PROJECT.replace('"six==1.16.0"', '"lib"')
            + '[tool.uv.sources]\nlib = { path = "../../lib" }\n'
        },
    )
    uv_lock(app)
    with pytest.raises(SpecError, match=r"^uv.lock: \.\./\.\./lib is outside the app directory"):
        installed(app, BlobStore(tmp_path / "blobs"))
