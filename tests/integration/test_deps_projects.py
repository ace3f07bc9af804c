"""The app as a package: src and flat layouts with setuptools, hatchling, poetry-core and
flit, installed editable (metadata and scripts in the dependencies layer, code in /app),
run for real in the Debian base image (chroot) with the image's environment."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from shipway import project
from shipway.image.blobs import BlobStore
from shipway.image.config import image_config
from shipway.image.deps import Target, dependencies_layer
from shipway.image.layer import Layer
from tests.helpers.appdir import make_app as make_files

HOST = f"{sys.version_info.major}.{sys.version_info.minor}"
TARGET = Target(HOST, "x86_64-manylinux_2_28")
WSGI = 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n'
CHROOT = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin") or "chroot"
CLI = 'def main():\n    print("cli ok")\n'


def make_app(root: Path, files: dict[str, str]) -> Path:
    return make_files(root, {"Procfile": "web: python3 -m notes\n", **files})


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def image_root(base_rootfs: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Debian base image's files (its Python is this machine's minor version)."""
    tar, version = base_rootfs
    assert version.startswith(HOST), "the base image's Python must be this machine's"
    root = tmp_path_factory.mktemp("rootfs")
    subprocess.run(["tar", "-xf", str(tar), "-C", str(root)], check=True)
    return root


def build(app: Path, store: BlobStore) -> tuple[Layer, bool, list[str]]:
    layer, cached = dependencies_layer(app, project.load(app).plan, TARGET, store)
    data = gzip.decompress(store.path(layer.digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
    return layer, cached, names


def run_in_image(
    root: Path, store: BlobStore, layer: Layer, app: Path, *argv: str
) -> subprocess.CompletedProcess[str]:
    """``argv`` in /app as the image's user, with the image's environment."""
    shutil.rmtree(root / "opt" / "shipway", ignore_errors=True)
    shutil.rmtree(root / "app", ignore_errors=True)
    with tarfile.open(
        fileobj=io.BytesIO(gzip.decompress(store.path(layer.digest).read_bytes()))
    ) as tar:
        tar.extractall(root, filter="tar")
    shutil.copytree(app, root / "app")
    plan = project.load(app).plan
    env = image_config(
        {"config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]}}, plan, "t", [], {}
    )
    variables = dict(item.split("=", 1) for item in env["config"]["Env"])
    return subprocess.run(
        [CHROOT, "--userspec=10001:10001", str(root), "/bin/sh", "-c", 'cd /app && exec "$@"',
         "sh", *argv],
        env={**variables, "HOME": "/tmp"}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def test_src_layout_hatchling_runs_from_app_and_a_code_change_keeps_the_layer(
    tmp_path: Path, image_root: Path
) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "notes"\nversion = "0.3.1"\nreadme = "README.md"\n'
                'dependencies = ["gunicorn==23.0.0"]\n'
                '[project.scripts]\nnotes-cli = "notes.cli:main"\n'
                '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
            ),
            "README.md": "# Notes\n",
            "src/notes/__init__.py": WSGI,
            "src/notes/cli.py": CLI,
        },
    )
    store = BlobStore(tmp_path / "blobs")
    layer, _, names = build(app, store)
    assert "opt/shipway/deps/notes-0.3.1.dist-info/METADATA" in names
    assert not any(n.startswith("opt/shipway/deps/notes/") for n in names)  # code is in /app

    check = run_in_image(image_root, store, layer, app, "gunicorn", "--check-config", "notes:app")
    assert check.returncode == 0, check.stderr
    cli = run_in_image(image_root, store, layer, app, "notes-cli")
    assert cli.stdout == "cli ok\n", cli.stderr
    probe = "import importlib.metadata as m, notes; print(m.version('notes'), notes.__file__)"
    shown = run_in_image(image_root, store, layer, app, "python3", "-c", probe)
    assert shown.stdout.split() == ["0.3.1", "/app/src/notes/__init__.py"], shown.stderr

    (app / "src" / "notes" / "cli.py").write_text('def main():\n    print("changed")\n')
    (app / "README.md").write_text("# Notes, described at length\n")
    again, cached, _ = build(app, store)
    assert cached and again == layer
    changed = run_in_image(image_root, store, layer, app, "notes-cli")
    assert changed.stdout == "changed\n"


def test_flat_setuptools_version_from_attr_is_keyed_by_the_version_line_only(
    tmp_path: Path,
) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "notes"\ndynamic = ["version"]\ndependencies = ["six==1.16.0"]\n'
                '[tool.setuptools.dynamic]\nversion = {attr = "notes.__version__"}\n'
                '[build-system]\nrequires = ["setuptools>=61"]\n'
                'build-backend = "setuptools.build_meta"\n'
            ),
            "notes/__init__.py": '__version__ = "1.2.3"\n' + WSGI,
            "tests/test_notes.py": "",
        },
    )
    store = BlobStore(tmp_path / "blobs")
    layer, _, names = build(app, store)
    assert "opt/shipway/deps/notes-1.2.3.dist-info/METADATA" in names
    assert "opt/shipway/deps/six.py" in names
    init = app / "notes" / "__init__.py"
    init.write_text(init.read_text() + "\nEXTRA = 1\n")
    assert build(app, store)[:2] == (layer, True)
    init.write_text(init.read_text().replace("1.2.3", "1.2.4"))
    _, cached, names = build(app, store)
    assert not cached and "opt/shipway/deps/notes-1.2.4.dist-info/METADATA" in names


def test_poetry_core_src_package_installs_from_its_lock(tmp_path: Path, image_root: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.poetry]\nname = "notes"\nversion = "0.1.0"\ndescription = ""\n'
                'authors = ["A <a@example.org>"]\npackages = [{include = "notes", from = "src"}]\n'
                '[tool.poetry.dependencies]\npython = "^3.11"\nsix = "^1.16"\n'
                '[tool.poetry.group.dev.dependencies]\niniconfig = "^2.0"\n'
                '[tool.poetry.scripts]\nnotes-cli = "notes.cli:main"\n'
                '[build-system]\nrequires = ["poetry-core"]\n'
                'build-backend = "poetry.core.masonry.api"\n'
            ),
            "poetry.lock": (
                '[[package]]\nname = "iniconfig"\nversion = "2.0.0"\noptional = false\n'
                'python-versions = ">=3.7"\n\n'
                '[[package]]\nname = "six"\nversion = "1.16.0"\noptional = false\n'
                'python-versions = ">=2.7"\n\n'
                '[metadata]\nlock-version = "2.0"\npython-versions = "^3.11"\n'
                'content-hash = "0"\n'
            ),
            "src/notes/__init__.py": WSGI,
            "src/notes/cli.py": CLI,
        },
    )
    store = BlobStore(tmp_path / "blobs")
    layer, _, names = build(app, store)
    assert "opt/shipway/deps/six-1.16.0.dist-info/METADATA" in names
    assert not any("iniconfig" in n for n in names)  # a dev group is never installed
    cli = run_in_image(image_root, store, layer, app, "notes-cli")
    assert cli.stdout == "cli ok\n", cli.stderr


def test_flit_takes_its_version_from_the_module(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "notes"\ndynamic = ["version", "description"]\n'
                '[build-system]\nrequires = ["flit_core>=3.2,<4"]\n'
                'build-backend = "flit_core.buildapi"\n'
            ),
            "notes/__init__.py": '"""Notes."""\n__version__ = "2.0"\n',
        },
    )
    _, _, names = build(app, BlobStore(tmp_path / "blobs"))
    assert "opt/shipway/deps/notes-2.0.dist-info/METADATA" in names
    assert "opt/shipway/deps/__shipway_notes.pth" in names


def test_a_setup_py_project_gets_the_requirements_its_metadata_lists(tmp_path: Path) -> None:
    setup = (
        "from setuptools import setup\n"
        "setup(name='notes', version='0.5', py_modules=['notes'], install_requires=['six'])\n"
    )
    app = make_app(tmp_path, {"setup.py": setup, "notes.py": WSGI})
    _, _, names = build(app, BlobStore(tmp_path / "blobs"))
    assert "opt/shipway/deps/notes-0.5.dist-info/METADATA" in names
    assert any(n.startswith("opt/shipway/deps/six-") for n in names)


@pytest.mark.parametrize(
    "files",
    [
        {  # Poetry's non-package mode, with its lock
            "pyproject.toml": (
                "[tool.poetry]\npackage-mode = false\n"
                '[tool.poetry.dependencies]\npython = "^3.11"\nsix = "^1.16"\n'
            ),
            "poetry.lock": (
                '[[package]]\nname = "six"\nversion = "1.16.0"\noptional = false\n'
                'python-versions = ">=2.7"\n\n[metadata]\nlock-version = "2.0"\n'
            ),
        },
        {  # a build system, but a flat layout setuptools cannot make a package of
            "pyproject.toml": (
                '[project]\nname = "site"\nversion = "1"\ndependencies = ["six==1.16.0"]\n'
                '[build-system]\nrequires = ["setuptools>=61"]\n'
                'build-backend = "setuptools.build_meta"\n'
            ),
            "web/__init__.py": "",
            "jobs/__init__.py": "",
        },
    ],
    ids=["poetry-package-mode-false", "setuptools-no-single-package"],
)
def test_a_project_that_is_no_package_gets_its_dependencies_only(
    tmp_path: Path, files: dict[str, str]
) -> None:
    app = make_app(tmp_path, {**files, "app.py": WSGI})
    _, _, names = build(app, BlobStore(tmp_path / "blobs"))
    assert "opt/shipway/deps/six-1.16.0.dist-info/METADATA" in names
    assert not any(n.endswith(".pth") or "site-1" in n for n in names)
