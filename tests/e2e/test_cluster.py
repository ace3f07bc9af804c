"""The test cluster works as Shipway needs it (issue 4's proofs), each test in its namespace.

The node is Ready, CoreDNS answers, a claim on the default StorageClass binds and keeps
its data across pods; an app built here by ``shipway build`` and rendered by
``shipway render`` runs from the cluster's local registry, answers on a NodePort of
127.0.0.1 and by its Service name, shows its logs and is replaced when its pod goes; and
this API server accepts what ``shipway render`` makes of every example app.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, PersistentVolume, PersistentVolumeClaim, Pod, Service

from hack.platform_images import push_rootfs
from shipway.image.blobs import BlobStore
from tests.conftest import EXAMPLES
from tests.e2e.kube import (
    Cluster,
    create,
    name_of,
    pod_finished,
    pod_log,
    ready_pods,
    wait_for,
)
from tests.integration.infra import run_script

HELLO = {"app.kubernetes.io/instance": "hello", "app.kubernetes.io/component": "web"}
UID = 10001
# Straight to 127.0.0.1, whatever proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- images: built here, pushed to the registry the cluster pulls from -------------------
@pytest.fixture(scope="session")
def registry(cluster: Cluster) -> str:
    if not cluster.registry:
        pytest.skip("set SHIPWAY_E2E_REGISTRY to a registry (HOST:PORT) the cluster pulls from")
    return cluster.registry


@pytest.fixture(scope="session")
def base_image(registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Debian bookworm with Python (debootstrapped, cached), as base/python:3.11."""
    run_script("install.sh", timeout=900)
    out = run_script("base-rootfs.sh", timeout=1200)
    tar = Path(out.strip().splitlines()[-1])
    version = Path(f"{tar}.python-version").read_text().strip()
    store = BlobStore(tmp_path_factory.mktemp("base-blobs"))
    return push_rootfs(tar, version, registry, None, store, "3.11")


@pytest.fixture(scope="session")
def hello_image(registry: str, base_image: str) -> str:
    """examples/hello built by ``shipway build``, pinned by digest."""
    tag = f"{registry}/e2e/hello:{secrets.token_hex(4)}"
    result = shipway(
        "build", EXAMPLES / "hello", "--tag", tag, "--base-image", base_image, "--json"
    )
    digest = json.loads(result.stdout)["digest"]
    return f"{registry}/e2e/hello@{digest}"


def shipway(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"shipway {args[0]} failed:\n{result.stderr}"
    return result


# --- pods the tests run ------------------------------------------------------------------
def restricted_pod(name: str, image: str, script: str, **extra: Any) -> dict[str, Any]:
    """A pod the restricted Pod Security Standard admits, running ``python3 -c script``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "fsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "command": ["python3", "-c", script],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": extra.pop("volumeMounts", []),
                }
            ],
            **extra,
        },
    }


def run_pod(kube: Client, namespace: str, pod: dict[str, Any], timeout: float = 180) -> str:
    """Create ``pod``, wait until it has run to its end successfully; returns its log."""
    name = pod["metadata"]["name"]
    create(kube, namespace, pod)
    phase = wait_for(f"pod {name} to finish", lambda: pod_finished(kube, namespace, name), timeout)
    log = pod_log(kube, namespace, name)
    assert phase == "Succeeded", f"pod {name} {phase}; log:\n{log}"
    return log


def claim(kube: Client, namespace: str, name: str) -> None:
    """A 1Gi claim on the default StorageClass (no storageClassName)."""
    create(
        kube,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )


def with_claim(name: str) -> dict[str, Any]:
    return {
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }


# --- the web app, rendered by shipway ----------------------------------------------------
@pytest.fixture
def hello(cluster: Cluster, kube: Client, namespace: str, hello_image: str, tmp_path: Path) -> str:
    """examples/hello rendered with a NodePort Service, applied and available."""
    out = tmp_path / "hello"
    shipway(
        "render", EXAMPLES / "hello", "--out", out, "--expose", "nodeport",
        "--namespace", namespace, "--image", hello_image,
    )  # fmt: skip
    applied = cluster.run_kubectl("apply", "--server-side", "--field-manager", "shipway", "-f", out)
    assert applied.returncode == 0, applied.stderr
    wait_for("the hello web pod to be ready", lambda: ready_pods(kube, namespace, HELLO), 180)
    return namespace


def node_port(kube: Client, namespace: str) -> int:
    service = kube.get(Service, "hello", namespace=namespace)
    assert service.spec and service.spec.type == "NodePort" and service.spec.ports
    port = service.spec.ports[0].nodePort
    assert port
    return port


def http_get(url: str, timeout: float = 60) -> dict[str, Any]:
    def attempt() -> dict[str, Any] | None:
        try:
            with DIRECT.open(url, timeout=5) as response:
                assert response.status == 200
                body: dict[str, Any] = json.loads(response.read())
                return body
        except OSError:
            return None

    return wait_for(f"GET {url}", attempt, timeout)


# --- the proofs --------------------------------------------------------------------------
def test_node_is_ready(kube: Client) -> None:
    nodes = list(kube.list(Node))
    assert len(nodes) >= 1
    for node in nodes:
        assert node.status and node.status.conditions
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", f"node {node.metadata and node.metadata.name} is not Ready"
        assert node.status.nodeInfo and node.status.nodeInfo.kubeletVersion.startswith("v1.")


def test_coredns_resolves_service_names(kube: Client, namespace: str, base_image: str) -> None:
    create(
        kube,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "probe"},
            "spec": {"ports": [{"port": 80}], "selector": {"none": "none"}},
        },
    )
    probe = kube.get(Service, "probe", namespace=namespace)
    api = kube.get(Service, "kubernetes", namespace="default")
    assert probe.spec and api.spec
    script = (
        "import socket\n"
        "for name in ('probe', f'probe.{NS}.svc', 'kubernetes.default.svc.cluster.local'):\n"
        "    print(name, socket.gethostbyname(name))\n"
    ).replace("{NS}", namespace)
    log = run_pod(kube, namespace, restricted_pod("resolve", base_image, script))
    assert log.split("\n")[:3] == [
        f"probe {probe.spec.clusterIP}",
        f"probe.{namespace}.svc {probe.spec.clusterIP}",
        f"kubernetes.default.svc.cluster.local {api.spec.clusterIP}",
    ]


def test_claim_on_default_storage_class_binds(
    kube: Client, namespace: str, base_image: str
) -> None:
    claim(kube, namespace, "data")
    write = "open('/data/hello', 'w').write('kept')\nprint('written')"
    run_pod(kube, namespace, restricted_pod("writer", base_image, write, **with_claim("data")))
    pvc = kube.get(PersistentVolumeClaim, "data", namespace=namespace)
    assert pvc.status and pvc.status.phase == "Bound"
    assert pvc.spec and pvc.spec.storageClassName  # the default class was filled in
    assert pvc.spec.volumeName
    volume = kube.get(PersistentVolume, pvc.spec.volumeName)
    assert volume.spec and volume.spec.capacity and volume.spec.capacity["storage"] == "1Gi"


def test_claim_data_survives_the_pod(kube: Client, namespace: str, base_image: str) -> None:
    claim(kube, namespace, "data")
    write = f"open('/data/note', 'w').write('{namespace}')\nprint('written')"
    run_pod(kube, namespace, restricted_pod("writer", base_image, write, **with_claim("data")))
    kube.delete(Pod, "writer", namespace=namespace, grace_period=0)
    wait_for("the writer pod to be gone", lambda: _gone(kube, namespace, "writer"))
    read = "print(open('/data/note').read())"
    log = run_pod(kube, namespace, restricted_pod("reader", base_image, read, **with_claim("data")))
    assert log.strip() == namespace


def _gone(kube: Client, namespace: str, name: str) -> bool:
    return not any(
        p.metadata and p.metadata.name == name for p in kube.list(Pod, namespace=namespace)
    )


def test_web_app_answers_on_node_port_and_by_service_name(
    kube: Client, hello: str, hello_image: str
) -> None:
    namespace = hello
    body = http_get(f"http://127.0.0.1:{node_port(kube, namespace)}/")
    assert body["message"] == "Hello from Shipway!"
    assert body["process"].startswith("hello-web-")

    script = (
        "import json, urllib.request\n"
        "for url in ('http://hello/', 'http://hello.{NS}.svc/'):\n"
        "    print(json.load(urllib.request.urlopen(url, timeout=10))['message'])\n"
    ).replace("{NS}", namespace)
    log = run_pod(kube, namespace, restricted_pod("client", hello_image, script))
    assert log.split("\n")[:2] == ["Hello from Shipway!"] * 2


def test_web_pod_logs_through_the_api(kube: Client, hello: str) -> None:
    namespace = hello
    http_get(f"http://127.0.0.1:{node_port(kube, namespace)}/?from=e2e")
    (pod,) = ready_pods(kube, namespace, HELLO)

    def logged() -> str | None:
        log = pod_log(kube, namespace, name_of(pod))
        return log if "GET /?from=e2e" in log else None

    log = wait_for("the request in the pod's log", logged, 30)
    assert "Booting worker" in log  # gunicorn's start-up lines are there too


def test_deleted_pod_is_replaced(kube: Client, hello: str) -> None:
    namespace = hello
    (old,) = ready_pods(kube, namespace, HELLO)
    kube.delete(Pod, name_of(old), namespace=namespace)

    def replaced() -> list[Pod]:
        return [p for p in ready_pods(kube, namespace, HELLO) if name_of(p) != name_of(old)]

    (new,) = wait_for("a new ready pod", replaced, 180)

    def available() -> bool:
        status = kube.get(Deployment, "hello-web", namespace=namespace).status
        return bool(status and status.availableReplicas == 1)

    wait_for("the Deployment to count the new pod available", available, 60)
    # The Service moves to the new pod once kube-proxy has seen the endpoints change; the
    # old one answers until then (it sleeps in its preStop hook).
    url = f"http://127.0.0.1:{node_port(kube, namespace)}/"
    wait_for(
        "the Service to answer from the new pod",
        lambda: http_get(url)["process"] == name_of(new),
        30,
    )


@pytest.mark.parametrize("app", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_server_side_dry_run_accepts_rendered_examples(
    cluster: Cluster, namespace: str, app: str, tmp_path: Path
) -> None:
    """What ``shipway render`` writes is accepted by this API server, admission included.

    The manifests go to the test's namespace (which exists: a dry run of a namespaced
    object needs its namespace for real) with the restricted profile's warnings on, so a
    workload the profile would reject shows up as a warning, which fails the test.
    """
    rendered = tmp_path / app
    shipway("render", EXAMPLES / app, "--out", rendered, "--namespace", namespace)
    files = sorted(rendered.glob("*.yaml"))
    assert files, "render wrote no manifest"
    result = cluster.run_kubectl(
        "apply", "--server-side", "--field-manager", "shipway", "--dry-run=server", "-f", rendered
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    applied = result.stdout.splitlines()
    assert len(applied) == len(files), result.stdout
    assert all(line.endswith("serverside-applied (server dry run)") for line in applied), applied
    assert f"namespace/{namespace} serverside-applied (server dry run)" in applied
