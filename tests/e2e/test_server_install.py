"""``shipway server install`` into the repo's cluster, with the in-cluster registry (even
though the cluster has a registry of its own): the server built from this source runs in
``shipway-system``, answers on 127.0.0.1:<NodePort>, takes the printed token, manages
apps through the remote CLI and deploys examples/tasks (built in its pod, pulled by the
node from the in-cluster registry). Its ServiceAccount's rights are checked by impersonating it:
it does its job in app namespaces and nothing in the others. ``uninstall`` leaves apps.

Run against the running cluster without restarting it (this file changes hack/cluster):
``SHIPWAY_E2E_KUBECONFIG=/var/lib/shipway-cluster/admin.conf pytest tests/e2e/test_server_install.py``
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace
from lightkube.resources.rbac_authorization_v1 import RoleBinding

from shipway.install import rbac
from shipway.kube.client import get_or_none
from tests.e2e.cli import NewApp, deploy, run_shipway
from tests.e2e.kube import Cluster

Env = dict[str, str]
SA = rbac.username()
MANAGED = "app.kubernetes.io/managed-by"


def ok(env: Env, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = run_shipway(env, *args, timeout=timeout)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def as_json(env: Env, *args: str) -> Any:
    return json.loads(ok(env, *args, "--json").stdout)


@pytest.fixture(scope="module")
def installed(platform: Env) -> Iterator[dict[str, Any]]:
    ok(platform, "server", "uninstall", "--delete-data")  # a clean start: a fresh admin
    # Package installs in the server's pod pass the machine's TLS-intercepting proxy too.
    bundle = platform.get("PIP_CERT") or platform.get("SSL_CERT_FILE")
    extra = ["--ca-bundle", bundle] if bundle else []
    result = ok(platform, "server", "install", "--json", *extra, timeout=900)
    data: dict[str, Any] = json.loads(result.stdout)
    data["stderr"] = result.stderr
    yield data
    ok(platform, "server", "uninstall", "--delete-data")


def remote(platform: Env, installed: dict[str, Any]) -> Env:
    env = {k: v for k, v in platform.items() if k != "KUBECONFIG"}
    return env | {
        "KUBECONFIG": "/nonexistent",
        "SHIPWAY_URL": installed["url"],
        "SHIPWAY_TOKEN": installed["token"],
    }


def kubectl(
    cluster: Cluster, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.kubectl), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def as_server(
    cluster: Cluster, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return kubectl(cluster, f"--as={SA}", *args, stdin=stdin)


def binding(namespace: str, role: str = "shipway-app-manager", kind: str = "ClusterRole") -> str:
    return json.dumps(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"try-{secrets.token_hex(3)}", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [
                {"kind": "ServiceAccount", "namespace": rbac.NAMESPACE, "name": rbac.SERVER}
            ],
        }
    )


def namespace_json(name: str, labels: dict[str, str]) -> str:
    """A namespace as Shipway makes an app's (managed, named after the app) plus ``labels``."""
    ns_labels = {MANAGED: "shipway", "app.kubernetes.io/instance": name, **labels}
    return json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": ns_labels}}
    )


def test_installed_server_serves_the_remote_cli(
    installed: dict[str, Any], platform: Env, kube: Client, cluster: Cluster
) -> None:
    assert installed["url"] == "http://127.0.0.1:30870"
    assert installed["token"] and installed["token"].startswith("shp_")
    assert installed["registry"] == rbac.NAMESPACE.join(
        ["shipway-registry.", ".svc.cluster.local:5000"]
    )
    assert installed["image"].startswith("127.0.0.1:30500/shipway/server@sha256:")
    ns = kube.get(Namespace, rbac.NAMESPACE)
    assert (ns.metadata.labels or {})["pod-security.kubernetes.io/enforce"] == "restricted"
    health = httpx2.get(f"{installed['url']}/api/v1/health", timeout=10)
    assert health.status_code == 200
    # The dashboard came with the image: its templates, styles and Spanish catalogue.
    spanish = httpx2.get(f"{installed['url']}/login", headers={"Accept-Language": "es"}, timeout=10)
    assert spanish.status_code == 200 and "Iniciar sesión" in spanish.text
    assert httpx2.get(f"{installed['url']}/static/dashboard.css", timeout=10).status_code == 200

    env = remote(platform, installed)
    me = httpx2.get(
        f"{installed['url']}/api/v1/whoami",
        headers={"Authorization": f"Bearer {installed['token']}"},
        timeout=10,
    ).json()
    assert me == {"email": "admin@example.com", "site_admin": True, "teams": {"main": "owner"}}
    name = f"inst-{secrets.token_hex(3)}"
    assert as_json(env, "create", name) == {"app": name, "namespace": name}
    try:
        # Created by the in-cluster server: it bound itself there, and only there.
        bound = get_or_none(kube, RoleBinding, "shipway-server", namespace=name)
        assert bound is not None and bound.roleRef.name == "shipway-app-manager"
        assert name in {row["app"] for row in as_json(env, "apps")}
        info = run_shipway(env, "info", name)
        assert info.returncode == 2 and "no successful release" in info.stderr, info
        assert as_json(env, "releases", name) == []
        ok(env, "config:set", name, "GREETING=hola")
        assert as_json(env, "config", name, "--reveal")["GREETING"] == "hola"
    finally:
        ok(env, "destroy", name, "--yes", "--delete-data")

    # An app made with the CLI (direct mode) after the install: imported, then managed.
    direct = f"cli-{secrets.token_hex(3)}"
    ok(platform, "create", direct)
    try:
        assert get_or_none(kube, RoleBinding, "shipway-server", namespace=direct) is None
        ok(env, "apps:import", direct, "--team", "main")
        ok(env, "config:set", direct, "MODE=imported")
        assert as_json(env, "config", direct, "--reveal")["MODE"] == "imported"
    finally:
        ok(platform, "destroy", direct, "--yes", "--delete-data")

    # The token exists once, in install's stdout: not in logs nor in what kubectl shows.
    token = installed["token"]
    assert token not in installed["stderr"]
    logs = kubectl(cluster, "-n", rbac.NAMESPACE, "logs", "deploy/shipway-server").stdout
    shown = kubectl(
        cluster, "-n", rbac.NAMESPACE, "get", "all,secrets,configmaps", "-o", "yaml"
    ).stdout
    assert token not in logs and token not in shown


def test_deploy_through_the_installed_server(
    installed: dict[str, Any], platform: Env, new_app: NewApp
) -> None:
    """examples/tasks (with MongoDB) built in the server's pod, pushed to the in-cluster
    registry, pulled by the node through 127.0.0.1:30500."""
    app, name = new_app("tasks")
    env = remote(platform, installed)
    as_json(env, "create", name)
    done = deploy(env, app)
    assert (done["status"], done["exit"]) == ("succeeded", 0), done
    assert done["image"].startswith(f"127.0.0.1:30500/{name}@sha256:")
    port = done["url"].rstrip("/").rpartition(":")[2]
    assert httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    assert as_json(env, "releases", name)[0]["by"] == "admin@example.com"


def test_server_account_rights(installed: dict[str, Any], cluster: Cluster, namespace: str) -> None:
    # Nothing in a namespace it did not create.
    read = as_server(cluster, "-n", namespace, "get", "secrets")
    assert read.returncode != 0 and "forbidden" in read.stderr.lower(), read
    bound = as_server(cluster, "create", "-f", "-", stdin=binding(namespace))
    assert bound.returncode != 0 and "only in namespaces Shipway manages" in bound.stderr, bound
    adopt = as_server(cluster, "label", "namespace", "kube-system", f"{MANAGED}=shipway")
    assert adopt.returncode != 0 and "only namespaces Shipway manages" in adopt.stderr, adopt
    gone = as_server(cluster, "delete", "namespace", namespace, "--wait=false")
    assert gone.returncode != 0, gone
    assert as_server(cluster, "-n", "kube-system", "get", "secrets").returncode != 0
    assert as_server(cluster, "delete", "namespace", rbac.NAMESPACE).returncode != 0

    # Never a namespace where privileged pods could run.
    for labels in ({}, {"pod-security.kubernetes.io/enforce": "privileged"}):
        loose = as_server(cluster, "create", "-f", "-", stdin=namespace_json("loose", labels))
        assert loose.returncode != 0 and "restricted Pod Security" in loose.stderr, loose

    # Its job in a namespace of its own: create it, bind itself, manage the app's objects.
    app = f"rbac-{secrets.token_hex(3)}"
    restricted = {"pod-security.kubernetes.io/enforce": "restricted"}
    made = as_server(cluster, "create", "-f", "-", stdin=namespace_json(app, restricted))
    assert made.returncode == 0, made
    try:
        own = as_server(cluster, "create", "-f", "-", stdin=binding(app))
        assert own.returncode == 0, own
        # Never a role it does not hold (RBAC's escalation check), nor to anyone else.
        admin = as_server(cluster, "create", "-f", "-", stdin=binding(app, "admin"))
        assert admin.returncode != 0 and "forbidden" in admin.stderr.lower(), admin
        for args in (
            ["create", "secret", "generic", "s", "--from-literal=k=v"],
            ["get", "secrets"],
            ["create", "configmap", "c", "--from-literal=k=v"],
            [
                "create",
                "deployment",
                "d",
                "--image=127.0.0.1:5110/pause:3.10.1",
                "--dry-run=server",
            ],
            ["get", "pods,events"],
        ):
            done = as_server(cluster, "-n", app, *args)
            assert done.returncode == 0, (args, done.stderr)
    finally:
        deleted = as_server(cluster, "delete", "namespace", app, "--wait=false")
        assert deleted.returncode == 0, deleted


def test_uninstall_keeps_apps(installed: dict[str, Any], platform: Env, kube: Client) -> None:
    env = remote(platform, installed)
    name = f"keep-{secrets.token_hex(3)}"
    as_json(env, "create", name)
    try:
        # Installing again keeps the admin (no new token) and what the server knows.
        again = as_json(platform, "server", "install")
        assert (again["token"], again["url"]) == (None, installed["url"])
        assert name in {row["app"] for row in as_json(env, "apps")}
        done = as_json(platform, "server", "uninstall")
        assert "Deployment shipway-system/shipway-server" in done["deleted"]
        assert "PersistentVolumeClaim shipway-system/shipway-server" in done["kept"]
        assert kube.get(Namespace, name).metadata.name == name  # the app stays
        # The server's rights there went with it.
        assert get_or_none(kube, RoleBinding, "shipway-server", namespace=name) is None
    finally:
        ok(platform, "destroy", name, "--yes", "--delete-data")
