"""`shipway build` for real: a registry with htpasswd auth, a Debian base image made with
debootstrap, and a Docker engine that pulls and runs what Shipway built."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.platform_images import push_rootfs
from shipway.image.appfiles import app_entries
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def base_image(
    registry: Any, base_rootfs: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    rootfs, version = base_rootfs
    store = BlobStore(tmp_path_factory.mktemp("base-blobs"))
    return push_rootfs(
        rootfs,
        version,
        registry.host,
        Credentials(registry.username, registry.password),
        store,
        "3.11",
    )


@pytest.fixture
def cli_env(registry: Any, tmp_path: Path) -> dict[str, str]:
    """The environment of a user who builds with their own (empty) caches."""
    return {
        **os.environ,
        "SHIPWAY_REGISTRY_USERNAME": registry.username,
        "SHIPWAY_REGISTRY_PASSWORD": registry.password,
        "SHIPWAY_CACHE_DIR": str(tmp_path / "cache"),
    }


def shipway(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def build_json(app: Path, tag: str, base: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    result = shipway("build", app, "--tag", tag, "--base-image", base, "--json", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def docker(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def logged_in(registry: Any, docker_engine: Any) -> None:
    subprocess.run(
        ["docker", "login", "-u", registry.username, "--password-stdin", registry.host],
        input=registry.password,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def containers() -> Iterator[list[str]]:
    started: list[str] = []
    yield started
    for name in started:
        docker("rm", "-f", name, check=False)


def run_web(image: str, containers: list[str], *env: str) -> str:
    """Run ``image`` with port 5000 published on 127.0.0.1; returns its base URL."""
    args = ["run", "-d", "-p", "127.0.0.1::5000"]
    for item in env:
        args += ["-e", item]
    container = docker(*args, image).stdout.strip()
    containers.append(container)
    port = docker("port", container, "5000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}"


def get(url: str, timeout: float = 30) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_build_push_pull_and_run(
    registry: Any, base_image: str, cli_env: dict[str, str], logged_in: None, containers: list[str]
) -> None:
    tag = f"{registry.host}/apps/hello:v1"
    result = build_json(EXAMPLES / "hello", tag, base_image, cli_env)
    assert result["image"] == tag and result["digest"].startswith("sha256:")
    roles = [layer["role"] for layer in result["layers"]]
    assert roles == ["base", "dependencies", "app"]
    status = {layer["role"]: layer["status"] for layer in result["layers"]}
    assert status == {"base": "mounted", "dependencies": "uploaded", "app": "uploaded"}
    assert all(
        layer["size"] > 0 and layer["digest"].startswith("sha256:") for layer in result["layers"]
    )
    pinned = f"{registry.host}/apps/hello@{result['digest']}"
    docker("pull", pinned)
    assert docker("inspect", "--format", "{{.Config.User}}", pinned).stdout.strip() == "10001:10001"
    url = run_web(pinned, containers, "GREETING=hi from the test")
    assert get(url + "/") == (
        200,
        {"message": "hi from the test", "process": get(url + "/")[1]["process"]},
    )


def test_same_source_same_digest_and_nothing_uploaded(
    registry: Any, base_image: str, cli_env: dict[str, str]
) -> None:
    tag = f"{registry.host}/apps/hello:repro"
    first = build_json(EXAMPLES / "hello", tag, base_image, cli_env)
    second = build_json(EXAMPLES / "hello", tag, base_image, cli_env)
    assert first["digest"] == second["digest"]
    assert [layer["status"] for layer in second["layers"]] == ["present"] * 3
    assert second["layers"][1]["cached"] is True
    other_cache = {**cli_env, "SHIPWAY_CACHE_DIR": cli_env["SHIPWAY_CACHE_DIR"] + "-fresh"}
    third = build_json(EXAMPLES / "hello", tag, base_image, other_cache)
    assert third["digest"] == first["digest"], "a cold rebuild gives the same image"


def test_one_line_change_uploads_only_the_app_layer(
    registry: Any, base_image: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", app)
    tag = f"{registry.host}/apps/hello-edit:v1"
    before = build_json(app, tag, base_image, cli_env)
    source = app / "app.py"
    source.write_text(source.read_text().replace("Hello from Shipway!", "Hello, edited!"))
    after = build_json(app, tag, base_image, cli_env)
    assert after["digest"] != before["digest"]
    status = {layer["role"]: (layer["status"], layer["cached"]) for layer in after["layers"]}
    assert status == {
        "base": ("present", False),
        "dependencies": ("present", True),
        "app": ("uploaded", False),
    }
    assert after["uploaded_bytes"] == after["layers"][2]["size"]
    assert after["layers"][1]["digest"] == before["layers"][1]["digest"]


def test_docker_archive_loads_and_runs(
    base_image: str, cli_env: dict[str, str], tmp_path: Path, logged_in: None, containers: list[str]
) -> None:
    archive = tmp_path / "hello.tar"
    result = shipway(
        "build",
        EXAMPLES / "hello",
        "--base-image",
        base_image,
        "--output",
        f"docker-archive:{archive}",
        "--output",
        f"oci:{tmp_path}/oci",
        "--json",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)["digest"]
    layout = json.loads((tmp_path / "oci" / "index.json").read_text())
    assert layout["manifests"][0]["digest"] == digest
    assert (tmp_path / "oci" / "blobs" / "sha256" / digest.split(":")[1]).is_file()
    loaded = docker("load", "-i", str(archive)).stdout
    assert "Loaded image" in loaded
    image = loaded.strip().rsplit(" ", 1)[1]
    url = run_web(image, containers)
    assert get(url + "/")[0] == 200


def test_tasks_image_fails_cleanly_without_a_database(
    registry: Any, base_image: str, cli_env: dict[str, str], logged_in: None, containers: list[str]
) -> None:
    tag = f"{registry.host}/apps/tasks:v1"
    result = build_json(EXAMPLES / "tasks", tag, base_image, cli_env)
    pinned = f"{registry.host}/apps/tasks@{result['digest']}"
    url = run_web(pinned, containers, "MONGODB_URI=mongodb://127.0.0.1:9/tasks")
    assert get(url + "/healthz") == (200, {"status": "ok"})
    status, body = get(url + "/")
    assert status == 503 and body["error"] == "database unavailable"
    no_env = docker("run", "--rm", pinned, check=False, timeout=60)
    assert no_env.returncode != 0
    assert "MONGODB_URI is not set" in no_env.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong-password", "refused the credentials of user"),
        ("invalid-tag", "is not a valid --tag"),
        ("missing-base", "does not exist in the registry"),
        ("no-deps-file", "no requirements.txt, pyproject.toml, Pipfile or setup.py"),
        ("symlink-escape", "the symlink points outside the app directory"),
        ("unreachable", "cannot reach registry 127.0.0.1:9"),
    ],
)
def test_bad_input(
    case: str, message: str, registry: Any, base_image: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", app)
    env, base = dict(cli_env), base_image
    tag = f"{registry.host}/apps/bad-{case}:v1"
    if case == "wrong-password":
        env["SHIPWAY_REGISTRY_PASSWORD"] = "not-the-password"
    elif case == "invalid-tag":
        tag = f"{registry.host}/Apps/Bad:v 1"
    elif case == "missing-base":
        base = f"{registry.host}/base/python:0.0-missing"
    elif case == "no-deps-file":
        (app / "pyproject.toml").unlink()
    elif case == "symlink-escape":
        (tmp_path / "secret").write_text("x")
        (app / "link").symlink_to("../secret")
    elif case == "unreachable":
        tag, base = "127.0.0.1:9/apps/x:v1", "127.0.0.1:9/base/python:3.11"
    result = shipway("build", app, "--tag", tag, "--base-image", base, env=env)
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    if case not in ("invalid-tag", "unreachable"):
        probe = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-u",
                f"{registry.username}:{registry.password}",
                f"{registry.url}/v2/apps/bad-{case}/manifests/v1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.stdout == "404", "no tag may exist after a failed build"


def test_docker_builder_with_a_ca_bundle(
    registry: Any, base_image: str, cli_env: dict[str, str], logged_in: None, containers: list[str]
) -> None:
    """The generated Dockerfile, built by Docker: package installs inside the build trust
    the CA bundle given (this machine reaches the package index through a TLS proxy)."""
    tag = f"{registry.host}/apps/hello-docker:v1"
    ca_bundle = os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
    result = shipway(
        "build",
        EXAMPLES / "hello",
        "--builder",
        "docker",
        "--ca-bundle",
        ca_bundle,
        "--tag",
        tag,
        "--base-image",
        base_image,
        "--json",
        env=cli_env,
    )
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)["digest"]
    pinned = f"{registry.host}/apps/hello-docker@{digest}"
    docker("pull", pinned)
    assert get(run_web(pinned, containers) + "/")[0] == 200


#: Docker 20.10's BuildKit (this engine) differs from today's in two cases the unit tests
#: pin to today's rules: it never walks an excluded directory for a wildcard exception
#: ("*" then "!**/keep*"), and it re-tries "!d" on d/f's parent ("d/*" then "!d").
DOCKERIGNORES = {
    "anchored": "\ufeff# comment\n  #hash\nfoo\n./secret.txt\n/docs/\nsub/*.tmp\n",
    "exceptions": "logs\n!logs/keep.log\nbuild\n!build/keep\n*.md\n!**/top.md\n",
    "globs": "**/foo\n**/*.tmp\na/**/b\nc?d\nc[xy]z\nlit\\*\ntmp**\n**secret\n",
    "everything-but": "*\n!app.py\n!keep\n!a/b\n.dockerignore\n",
    "trailing-stars": "**/deep/**\ns*/**\nbuild/*/**\n",
}


@pytest.mark.parametrize("name", sorted(DOCKERIGNORES))
def test_dockerignore_ships_what_docker_build_ships(
    docker_engine: str, tmp_path: Path, name: str
) -> None:
    """The same .dockerignore, the same files: BuildKit's context as `COPY . /` writes it
    out, against the daemonless builder's app layer (links, loops and exceptions too)."""
    files = (
        "app.py", "foo", "a/foo", "a/b/foo", "x.tmp", "sub/x.tmp", "sub/deep/y.tmp",
        "secret.txt", "docs/secret.txt", "logs/a.log", "logs/keep.log", "build/out/z.bin",
        "build/keep/me.txt", "ab", "a/x/y/b", "c1d", "c/d", "cxz", "lit*", "litx", "#hash",
        "d/f", "top.md", "nested/top.md", "tmp/secret", "tmp/other", "keep/deep/keepme",
    )  # fmt: skip
    app = tmp_path / "app"
    for rel in files:
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(rel)
    (app / "empty").mkdir()
    for link, target in {
        "loop-a": "loop-b",
        "loop-b": "loop-a",
        "gone": "missing",
        "dot": ".",
    }.items():
        (app / link).symlink_to(target)
    (app / ".dockerignore").write_text(DOCKERIGNORES[name], encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            docker_engine,
            "build",
            "-q",
            "-f",
            tmp_path / "Dockerfile",
            "-o",
            f"type=local,dest={out}",
            app,
        ],
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    ours = {
        (e.name.removeprefix("app/"), e.link) for e in app_entries(app, "app") if e.name != "app"
    }
    assert ours == _tree(out)


def _tree(root: Path) -> set[tuple[str, str | None]]:
    """(path, link target or None) of everything under ``root``, links not followed."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            link = os.readlink(path) if path.is_symlink() else None
            found.add((path.relative_to(root).as_posix(), link))
    return found
