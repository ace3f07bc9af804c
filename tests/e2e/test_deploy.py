"""`shipway deploy` and the day-2 verbs on the real cluster: the seed's scenario for real."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.prepare_platform import prepare
from tests.conftest import EXAMPLES
from tests.e2e.kube import Cluster, wait_for


@pytest.fixture(scope="session")
def platform(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The cluster's registry holds the base and addon images; the platform points at them
    (what `make cluster-up` does for the repo's cluster, done again for any cluster)."""
    assert cluster.registry, "the cluster has no registry to push to"
    prepare(cluster.kubeconfig, cluster.registry)
    return {
        **os.environ,
        "KUBECONFIG": str(cluster.kubeconfig),
        "SHIPWAY_STATE_DIR": str(tmp_path_factory.mktemp("state")),
        "SHIPWAY_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
    }


def run_shipway(
    env: dict[str, str], *args: str | Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def new_app(tmp_path: Path, platform: dict[str, str]) -> Iterator[Any]:
    """Copies of example apps under fresh names; each is destroyed after the test."""
    made: list[str] = []

    def make(example: str, extra_yaml: str = "") -> tuple[Path, str]:
        name = f"{example.split('-', maxsplit=1)[0]}-{secrets.token_hex(3)}"
        app = tmp_path / name
        shutil.copytree(EXAMPLES / example, app)
        spec = app / "shipway.yaml"
        text = spec.read_text() if spec.exists() else ""
        lines = [line for line in text.splitlines() if not line.startswith("name:")]
        spec.write_text("\n".join([f"name: {name}", *lines, extra_yaml]) + "\n")
        made.append(name)
        return app, name

    yield make
    for name in made:
        run_shipway(platform, "destroy", name, "--yes", "--delete-data", timeout=120)


def deploy(env: dict[str, str], app: Path, *extra: str) -> dict[str, Any]:
    result = run_shipway(env, "deploy", app, "--json", "--timeout", "240", *extra)
    assert result.stdout, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    data["stderr"], data["exit"] = result.stderr, result.returncode
    return data


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_the_seed_scenario(platform: dict[str, str], new_app: Any, cluster: Cluster) -> None:
    app, name = new_app("tasks")
    result = deploy(platform, app)
    assert result["status"] == "succeeded", result["stderr"]
    url = result["url"]
    assert url.startswith("http://127.0.0.1:")
    assert http("POST", url, {"task": "buy milk"})[0] == 201
    status, body = http("GET", url)
    assert status == 200 and [t["task"] for t in body["data"]] == ["buy milk"]
    deleted = cluster.run_kubectl("delete", "pod", "-n", name, f"{name}-mongodb-0", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    back = wait_for(
        "the task after the database pod came back",
        lambda: _tasks(url) == ["buy milk"],
        timeout=180,
    )
    assert back


def _tasks(url: str) -> list[str] | None:
    try:
        status, body = http("GET", url)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return [t["task"] for t in body["data"]] if status == 200 else None


def test_config_run_and_rollback(platform: dict[str, str], new_app: Any) -> None:
    app, name = new_app("hello")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]
    assert http("GET", first["url"])[1]["message"] == "Hello from Shipway!"
    changed = run_shipway(platform, "config:set", name, "GREETING=configured")
    assert changed.returncode == 0, changed.stderr
    assert wait_for("the new greeting", lambda: _message(first["url"]) == "configured")
    shown = run_shipway(platform, "config", name)
    assert "GREETING=(hidden)" in shown.stdout and "configured" not in shown.stdout
    check = run_shipway(
        platform,
        "run",
        name,
        "--",
        "python",
        "-c",
        "import os; print(os.environ['GREETING'] == 'configured')",
    )
    assert (check.returncode, check.stdout.strip()) == (0, "True"), check.stderr
    failing = run_shipway(platform, "run", name, "--", "false")
    assert failing.returncode != 0
    source = app / "app.py"
    source.write_text(source.read_text().replace("Hello from Shipway!", "Hello v2"))
    second = deploy(platform, app)
    assert second["status"] == "succeeded", second["stderr"]
    back = run_shipway(platform, "rollback", name, "v2")
    assert back.returncode == 0, back.stderr
    history = json.loads(run_shipway(platform, "releases", name, "--json").stdout)
    newest = history[0]
    assert newest["description"] == "Rollback to v2" and newest["status"] == "succeeded"
    v2 = next(r for r in history if r["version"] == 2)
    assert newest["image"] == v2["image"]
    assert wait_for("v1's code with v2's config", lambda: _message(first["url"]) == "configured")


def _message(url: str) -> str | None:
    try:
        return str(http("GET", url)[1]["message"])
    except (urllib.error.URLError, ConnectionError, TimeoutError, TypeError):
        return None


class RequestLoop(threading.Thread):
    """GETs ``url`` every 50 ms until stopped (at most 4000 requests or 10 minutes)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.ok, self.failures = url, 0, []  # type: ignore[var-annotated]
        self._stop_event = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 600
        for _ in range(4000):
            if self._stop_event.is_set() or time.monotonic() > deadline:
                return
            try:
                status = http("GET", self.url)[0]
                if status == 200:
                    self.ok += 1
                else:
                    self.failures.append(status)
            except Exception as exc:
                self.failures.append(repr(exc))
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(15)


def test_failed_deploy_rolls_back_without_dropping_a_request(
    platform: dict[str, str], new_app: Any
) -> None:
    app, name = new_app("hello")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]
    loop = RequestLoop(first["url"])
    loop.start()
    try:
        source = app / "app.py"
        source.write_text(source.read_text().replace("Hello from Shipway!", "Hello v2"))
        assert deploy(platform, app)["status"] == "succeeded"
        source.write_text("raise SystemExit('this release crashes on start')\n")
        failed = deploy(platform, app)
    finally:
        loop.stop()
    assert failed["status"] == "failed" and failed["exit"] == 1
    assert "release v3 failed" in failed["reason"]
    assert "rolled back to v2" in failed["reason"]
    assert failed["rolled_back_to"] == 2
    assert loop.failures == [] and loop.ok > 20
    assert _message(first["url"]) == "Hello v2"
    history = json.loads(run_shipway(platform, "releases", name, "--json").stdout)
    assert [(r["version"], r["status"]) for r in history[:2]] == [(4, "succeeded"), (3, "failed")]


def test_postgres_and_redis_addons(platform: dict[str, str], new_app: Any) -> None:
    app, _ = new_app("notes-heroku", 'services: {postgresql: "15", redis: "7.0"}')
    result = deploy(platform, app)
    assert result["status"] == "succeeded", result["stderr"]
    url = result["url"]
    wait_for("the release phase's table", lambda: http("GET", url)[0] == 200, timeout=120)
    assert http("POST", url, {"text": "queued through redis"})[0] == 202
    stored = wait_for(
        "the worker to store the note",
        lambda: [n["text"] for n in http("GET", url)[1]["data"]],
        timeout=120,
    )
    assert stored == ["queued through redis"]


def test_refuses_a_namespace_it_did_not_create(
    platform: dict[str, str], new_app: Any, cluster: Cluster
) -> None:
    app, name = new_app("hello")
    made = cluster.run_kubectl("create", "namespace", name)
    assert made.returncode == 0, made.stderr
    try:
        result = run_shipway(platform, "deploy", app)
        assert result.returncode == 2
        assert f"namespace '{name}' exists and is not managed by Shipway" in result.stderr
        destroy = run_shipway(platform, "destroy", name, "--yes")
        assert destroy.returncode == 2
        assert cluster.run_kubectl("get", "namespace", name).returncode == 0
    finally:
        cluster.run_kubectl("delete", "namespace", name, "--wait=false")
