"""Fixtures of the e2e tier: a real Kubernetes cluster and a fresh namespace per test.

``cluster`` brings up the harness of ``hack/cluster`` (or reuses the one running), unless
``SHIPWAY_E2E_KUBECONFIG`` names the kubeconfig of a cluster of the user's own; then
``SHIPWAY_E2E_REGISTRY`` is the registry (HOST:PORT) that cluster pulls from, and
``SHIPWAY_E2E_KUBECTL`` the kubectl to use. A cluster the fixture finds or starts is left
running at the end (``make cluster-down`` stops it), like the Docker engine of the
integration tier: a warm start is cheap, a second session reuses it.

``namespace`` gives each test its own namespace, enforcing the restricted Pod Security
Standard like the ones ``shipway render`` makes; when the test fails, the namespace's
events, pods and container logs are printed before it is deleted.

``platform`` readies the cluster for ``shipway deploy`` and gives the environment to run
it in; ``new_app`` copies example apps under fresh names (so each deploy gets its own
namespace) and destroys them, data included, after the test.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from hack.prepare_platform import prepare
from shipway.kube.client import get_or_none
from tests.conftest import EXAMPLES, ROOT
from tests.e2e.cli import NewApp
from tests.e2e.kube import Cluster, dump_namespace
from tests.helpers.server import RunningServer, running_server

UP = ROOT / "hack" / "cluster" / "up.sh"
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(REPORTS, {}).values())


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    given = os.environ.get("SHIPWAY_E2E_KUBECONFIG")
    if given:
        kubeconfig = Path(given)
        registry = os.environ.get("SHIPWAY_E2E_REGISTRY") or _read(
            kubeconfig.parent / "registry.address"
        )
        kubectl = os.environ.get("SHIPWAY_E2E_KUBECTL") or _kubectl_beside(kubeconfig)
        return Cluster(kubeconfig, registry, Path(kubectl))
    if os.geteuid() != 0:
        message = "the e2e cluster needs root (or set SHIPWAY_E2E_KUBECONFIG to a cluster's)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([str(UP)], capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"hack/cluster/up.sh failed ({result.returncode}):\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    kubeconfig = Path(result.stdout.strip().splitlines()[-1])
    registry = _read(kubeconfig.parent / "registry.address")
    return Cluster(kubeconfig, registry, kubeconfig.parent / "bin" / "kubectl")


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _kubectl_beside(kubeconfig: Path) -> str:
    beside = kubeconfig.parent / "bin" / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("no kubectl: set SHIPWAY_E2E_KUBECTL", pytrace=False)
    return found


@pytest.fixture(scope="session")
def kube(cluster: Cluster) -> Iterator[Client]:
    client = Client(
        KubeConfig.from_file(cluster.kubeconfig), field_manager="shipway-e2e", trust_env=False
    )
    yield client
    client.close()


@pytest.fixture
def namespace(request: pytest.FixtureRequest, kube: Client, cluster: Cluster) -> Iterator[str]:
    """A fresh namespace enforcing the restricted Pod Security Standard; dumped on failure."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"e2e-{slug}-{secrets.token_hex(3)}"
    restricted = {
        f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn")
    }
    kube.create(Namespace(metadata=ObjectMeta(name=name, labels=restricted)))
    yield name
    if _failed(request.node):
        sys.stderr.write(dump_namespace(kube, name))
    kube.delete(Namespace, name)


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
        # No saved login of the machine's user: direct mode, unless a test logs in.
        "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("config")),
    }


@pytest.fixture(scope="session")
def team_server(
    platform: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real ``shipway server`` on 127.0.0.1 managing the test cluster (SQLite), shared
    by the tests of the session; its first admin is ``tests.helpers.server.ADMIN``."""
    with running_server(tmp_path_factory.mktemp("server"), None, platform) as server:
        yield server


@pytest.fixture
def new_app(
    request: pytest.FixtureRequest, tmp_path: Path, platform: dict[str, str], kube: Client
) -> Iterator[NewApp]:
    """Copies of example apps under fresh names; each is destroyed after the test (and its
    namespace dumped first if the test failed)."""
    with app_maker(request.node, tmp_path, kube) as make:
        yield make


@pytest.fixture(scope="module")
def module_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    platform: dict[str, str],
    kube: Client,
) -> Iterator[NewApp]:
    """``new_app`` for a module whose tests share their apps."""
    with app_maker(request.node, tmp_path_factory.mktemp("apps"), kube) as make:
        yield make


@contextlib.contextmanager
def app_maker(node: pytest.Item, folder: Path, kube: Client) -> Iterator[NewApp]:
    made: list[str] = []

    def make(example: str, extra_yaml: str = "") -> tuple[Path, str]:
        name = f"{example.split('-', maxsplit=1)[0]}-{secrets.token_hex(3)}"
        app = folder / name
        shutil.copytree(EXAMPLES / example, app)
        spec = app / "shipway.yaml"
        text = spec.read_text() if spec.exists() else ""
        lines = [line for line in text.splitlines() if not line.startswith("name:")]
        spec.write_text("\n".join([f"name: {name}", *lines, extra_yaml]) + "\n")
        made.append(name)
        return app, name

    yield make
    for name in made:
        if _failed(node):
            sys.stderr.write(dump_namespace(kube, name))
        # Deleting a namespace waits for its pods to stop (~30 s an app): the deletions
        # go on in the background, and the session waits for all of them at its end.
        with contextlib.suppress(ApiError):
            kube.delete(Namespace, name)
        LEFT_BEHIND.add(name)


#: App namespaces being deleted, which the session waits for before it ends.
LEFT_BEHIND: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def deleted_apps_are_gone(kube: Client) -> Iterator[None]:
    """At the end of the session, every app a test made is gone (deleted all at once, in
    the background, by the tests' teardowns), so the cluster is left as it was found."""
    yield
    deadline = time.monotonic() + 300
    while LEFT_BEHIND and time.monotonic() < deadline:
        for name in sorted(LEFT_BEHIND):
            if get_or_none(kube, Namespace, name) is None:
                LEFT_BEHIND.discard(name)
        time.sleep(1)
    assert not LEFT_BEHIND, f"app namespaces still terminating after 5 min: {sorted(LEFT_BEHIND)}"
