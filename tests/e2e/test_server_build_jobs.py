"""``shipway server install --build-runner job`` into the repo's cluster: a deploy made
with the remote CLI builds in a Kubernetes Job of the server's own image in the app's
namespace (seen running, gone afterwards, its Secret too), the build pod's log lines are
the deploy's events, and the app answers; then a build that fails (a dependency no index
has) fails the deploy in one line while the previous release keeps serving.

Run against the running cluster without restarting it:
``SHIPWAY_E2E_KUBECONFIG=/var/lib/shipway-cluster/admin.conf pytest tests/e2e/test_server_build_jobs.py``
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Secret

from shipway.install import rbac
from tests.e2e.cli import NewApp, deploy
from tests.e2e.kube import Cluster
from tests.e2e.test_server_install import Env, as_json, kubectl, ok, remote

pytestmark = pytest.mark.e2e

BUILD = {"app.kubernetes.io/component": "build"}
MISSING = "shipway-no-such-package-e2e"


@pytest.fixture(scope="module")
def installed(platform: Env) -> Iterator[dict[str, Any]]:
    ok(platform, "server", "uninstall", "--delete-data")  # a clean start: a fresh admin
    bundle = platform.get("PIP_CERT") or platform.get("SSL_CERT_FILE")
    extra = ["--ca-bundle", bundle] if bundle else []
    args = ["server", "install", "--json", "--build-runner", "job", *extra]
    result = ok(platform, *args, timeout=900)
    data: dict[str, Any] = json.loads(result.stdout)
    yield data
    ok(platform, "server", "uninstall", "--delete-data")


class JobWatch:
    """The build Jobs seen in a namespace while it runs (polled)."""

    def __init__(self, kube: Client, namespace: str):
        self.kube, self.namespace = kube, namespace
        self.seen: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> JobWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            # The namespace may not exist yet.
            with contextlib.suppress(ApiError, httpx2.HTTPError):
                for job in self.kube.list(Job, namespace=self.namespace, labels=BUILD):
                    self.seen[job.metadata.name] = job.to_dict()
            self._stop.wait(0.3)


def build_jobs(kube: Client, namespace: str) -> list[str]:
    return [j.metadata.name for j in kube.list(Job, namespace=namespace, labels=BUILD)]


def build_secrets(kube: Client, namespace: str) -> list[str]:
    return [s.metadata.name for s in kube.list(Secret, namespace=namespace, labels=BUILD)]


def deploy_events(installed: dict[str, Any], app: str) -> tuple[dict[str, Any], list[Any]]:
    """The app's newest deploy and its events."""
    headers = {"Authorization": f"Bearer {installed['token']}"}
    api = f"{installed['url']}/api/v1"
    newest = httpx2.get(f"{api}/apps/{app}/deploys", headers=headers, timeout=30).json()[0]
    newest = httpx2.get(f"{api}/deploys/{newest['id']}", headers=headers, timeout=30).json()
    texts: list[Any] = []
    with httpx2.stream(
        "GET", f"{api}/deploys/{newest['id']}/events", headers=headers, timeout=120
    ) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "log":
                texts.append(json.loads(line.removeprefix("data: "))["text"])
            elif line.startswith("data: ") and kind == "end":
                break
    return newest, texts


def gone(kube: Client, namespace: str, timeout: float = 60) -> bool:
    """No build Job, nor its Secret, left in the namespace (the Job's pod goes with it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not build_jobs(kube, namespace) and not build_secrets(kube, namespace):
            return True
        time.sleep(1)
    return False


def test_builds_run_as_jobs(
    installed: dict[str, Any], platform: Env, new_app: NewApp, kube: Client, cluster: Cluster
) -> None:
    server: Any = kube.get(Deployment, "shipway-server", namespace=rbac.NAMESPACE)
    env_of = {e.name: e.value for e in server.spec.template.spec.containers[0].env}
    assert env_of["SHIPWAY_BUILD_RUNNER"] == "job"
    assert env_of["SHIPWAY_SERVER_IMAGE"] == installed["image"]

    app, name = new_app("hello")
    env = remote(platform, installed)
    as_json(env, "create", name)
    started = time.monotonic()
    with JobWatch(kube, name) as watch:
        done = deploy(env, app)
    took = time.monotonic() - started
    assert (done["status"], done["exit"]) == ("succeeded", 0), done
    print(f"first deploy through a build Job: {took:.1f} s")

    # A Job ran for the build: the server's image, restricted, and it is gone now.
    assert len(watch.seen) == 1, watch.seen
    [(job_name, job)] = watch.seen.items()
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == installed["image"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] > 0
    assert gone(kube, name), build_jobs(kube, name)

    # The build pod's log lines are the deploy's events.
    record, texts = deploy_events(installed, name)
    assert record["status"] == "finished"
    assert f"building in Job {job_name} (namespace {name})" in texts
    assert f"build pod: sources of {name} fetched from the server" in texts
    steps = {s["name"]: s["status"] for s in record["steps"]}
    assert steps["build"] == steps["push"] == "finished", steps

    url = done["url"].rstrip("/")
    port = url.rpartition(":")[2]
    answer = httpx2.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert answer.status_code == 200 and answer.json()["message"] == "Hello from Shipway!"

    # No token in the server's log.
    logs = kubectl(cluster, "-n", rbac.NAMESPACE, "logs", "deploy/shipway-server").stdout
    assert "X-Shipway-Build-Token" not in logs

    # A dependency no index has: the build Job fails, the deploy fails in one line, and
    # the running release keeps serving.
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('["flask>=3.0"]', f'["flask>=3.0", "{MISSING}"]')
    )
    with JobWatch(kube, name) as watch:
        failed = deploy(env, app)
    assert failed["status"] == "failed" and failed["exit"] != 0, failed
    reason = failed["reason"]
    assert "\n" not in reason and reason.startswith("the build failed: "), reason
    assert MISSING in reason, reason
    assert len(watch.seen) == 1, watch.seen
    assert gone(kube, name), build_jobs(kube, name)
    record, texts = deploy_events(installed, name)
    assert record["status"] == "failed" and record["reason"] == reason
    assert f"build pod: sources of {name} fetched from the server" in texts
    releases = as_json(env, "releases", name)
    assert [r["version"] for r in releases] == [1], releases
    again = httpx2.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert again.status_code == 200 and again.json()["message"] == "Hello from Shipway!"
