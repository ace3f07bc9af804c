"""Build steps: which an app needs, the script that runs them and hands back what they
wrote (run here for real with this machine's Python), and the checks on that output."""

from __future__ import annotations

import base64
import gzip
import io
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway.buildsteps import build_layer, layer_from_tar
from shipway.detect import buildsteps as detect_steps
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.dockerfile import dockerfile
from shipway.project import load
from shipway.spec.model import AppSpec


def test_django_post_compile_and_build_in_heroku_order(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "post_compile").write_text("echo hi\n")
    spec = AppSpec(name="site", build="npm run build")
    steps = detect_steps.build_steps(tmp_path, spec, "django")
    assert steps == [detect_steps.COLLECTSTATIC, detect_steps.POST_COMPILE, "npm run build"]
    assert detect_steps.build_steps(tmp_path, AppSpec(name="site"), "flask") == [
        detect_steps.POST_COMPILE
    ]
    assert detect_steps.enabled(steps, {"DISABLE_COLLECTSTATIC": "1"}) == steps[1:]
    assert detect_steps.enabled(steps, {"DISABLE_COLLECTSTATIC": "0"}) == steps


def local_runner(app: Path, seen_env: dict[str, str]) -> Callable[..., int]:
    """Runs the pod's command here, in ``app``, as the pod would in /app."""

    def run(command: list[str], emit: Callable[[str], None]) -> int:
        argv = [sys.executable if command[0] == "python3" else command[0], *command[1:]]
        done = subprocess.run(
            argv, cwd=app, capture_output=True, text=True, check=False, env=seen_env
        )
        for line in done.stdout.splitlines():
            emit(line)
        return done.returncode

    return run


def _members(store: BlobStore, digest: str) -> dict[str, tarfile.TarInfo]:
    data = gzip.decompress(store.path(digest).read_bytes())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_what_the_steps_write_becomes_a_cached_layer(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "static").mkdir(parents=True)
    (app / "static" / "site.css").write_text("body {}\n")
    (app / "app.py").write_text("print('hi')\n")
    store = BlobStore(tmp_path / "blobs")
    shown: list[str] = []
    steps = ["mkdir -p out && cp static/site.css out/site.css && echo built", "echo $GREETING"]
    runner = local_runner(app, {"PATH": "/usr/bin:/bin", "GREETING": "hola"})
    layer, cached = build_layer("sha256:" + "a" * 64, steps, {}, runner, store, shown.append)
    assert not cached
    assert "built" in shown and "hola" in shown and f"-----> {steps[0]}" in shown
    members = _members(store, layer.digest)
    assert sorted(members) == ["app", "app/out", "app/out/site.css"]  # only what changed
    assert {(m.uid, m.gid) for m in members.values()} == {(10001, 10001)}
    again = build_layer("sha256:" + "a" * 64, steps, {}, runner, store, shown.append)
    assert again == (layer, True)


def test_a_failing_step_fails_the_build_with_its_output(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    runner = local_runner(app, {"PATH": "/usr/bin:/bin"})
    with pytest.raises(ShipwayError) as caught:
        build_layer(
            "sha256:" + "b" * 64,
            ["echo no STATIC_ROOT; exit 3"],
            {},
            runner,
            BlobStore(tmp_path / "blobs"),
            lambda _line: None,
        )
    message = str(caught.value)
    assert "a build step failed (exit code 3)" in message and "no STATIC_ROOT" in message


def _tar(add: Callable[[tarfile.TarFile], None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        add(tar)
    return buf.getvalue()


def _file(name: str, data: bytes = b"x") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    return add


def _link(name: str, target: str) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        tar.addfile(info)

    return add


@pytest.mark.parametrize(
    ("add", "problem"),
    [
        (_file("etc/passwd"), "names a path outside /app"),
        (_file("app/../etc/passwd"), "names a path outside /app"),
        (_file("/app/x"), "names a path outside /app"),
        (_link("app/x", "/etc/shadow"), "made a link out of /app"),
        (_link("app/static/x", "../../etc/shadow"), "made a link out of /app"),
    ],
)
def test_output_that_reaches_out_of_app_is_refused(
    tmp_path: Path, add: Callable[[tarfile.TarFile], None], problem: str
) -> None:
    with pytest.raises(ShipwayError, match=problem):
        layer_from_tar(_tar(add), BlobStore(tmp_path / "blobs"))


def test_output_that_is_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShipwayError, match="not a valid archive"):
        layer_from_tar(base64.b64decode("aGVsbG8="), BlobStore(tmp_path / "blobs"))


def test_the_generated_dockerfile_runs_the_build_steps_as_the_app(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("django==5.1.4\ngunicorn==23.0.0\n")
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "Procfile").write_text("web: gunicorn site.wsgi\n")
    lines = dockerfile(load(tmp_path, "site").plan).splitlines()
    user = lines.index("USER 10001:10001")
    assert lines[user + 1] == f"RUN {detect_steps.COLLECTSTATIC}"


def test_the_generated_dockerfile_installs_a_package_project_editable(tmp_path: Path) -> None:
    """A src layout is importable under Docker too (``gunicorn notes:app``)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "notes"\nversion = "1"\ndependencies = ["flask"]\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    (tmp_path / "src" / "notes").mkdir(parents=True)
    (tmp_path / "src" / "notes" / "__init__.py").write_text("")
    (tmp_path / "Procfile").write_text("web: gunicorn notes:app\n")
    lines = dockerfile(load(tmp_path).plan, app_dir=tmp_path, ca_bundle=True).splitlines()
    copy = next(i for i, line in enumerate(lines) if line.startswith("COPY --chown"))
    assert lines[copy + 1] == "COPY .shipway-ca.pem /tmp/"
    assert "pip install --no-deps -e ." in lines[copy + 2]
    assert "PIP_CERT=/tmp/.shipway-ca.pem" in lines[copy + 2]
    assert lines[copy + 3] == "USER 10001:10001"
    assert "pip install --no-deps -e ." not in dockerfile(load(tmp_path).plan)
