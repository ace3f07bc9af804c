"""What lets Shipway's in-cluster server manage an app namespace it has just created: a
RoleBinding there from its ServiceAccount to the ClusterRole ``shipway-app-manager``.

The server's own RBAC (``shipway server install``) holds nothing inside app namespaces:
it may create namespaces, and RoleBindings to that one ClusterRole only (``bind`` with a
resourceName), and a ValidatingAdmissionPolicy only admits those RoleBindings in
namespaces labelled as managed by Shipway. So each namespace the server creates, it also
opens to itself, and no other.

``ensure`` makes the same binding on first use in an app namespace made without the
server (an app deployed with the CLI, then imported). Bindings are made only when
``SHIPWAY_SERVICE_ACCOUNT`` names the server's account (``NAMESPACE:NAME``; the install's
Deployment sets it): a CLI in direct mode, holding a kubeconfig, needs no binding and
makes none.
"""

from __future__ import annotations

import os

from shipway.kube import store
from shipway.kube.client import Client
from shipway.objects import LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, Obj

ENV = "SHIPWAY_SERVICE_ACCOUNT"
APP_MANAGER = "shipway-app-manager"
#: The RoleBinding's name in each app namespace.
BINDING = "shipway-server"


def service_account() -> tuple[str, str] | None:
    """(namespace, name) of the server's ServiceAccount when running in-cluster."""
    value = os.environ.get(ENV, "")
    namespace, _, name = value.partition(":")
    return (namespace, name) if namespace and name else None


def role_binding(namespace: str, account: tuple[str, str]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": BINDING,
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": APP_MANAGER,
        },
        "subjects": [{"kind": "ServiceAccount", "namespace": account[0], "name": account[1]}],
    }


def grant(client: Client, namespace: str) -> None:
    """Bind the in-cluster server to ``shipway-app-manager`` in ``namespace`` (which must
    carry Shipway's managed-by label); nothing outside the cluster."""
    account = service_account()
    if account is not None:
        store.apply(client, role_binding(namespace, account), f"manage namespace {namespace}")


def ensure(client: Client, namespace: str) -> bool:
    """Bind the in-cluster server in an app namespace made without it (an app deployed
    with the CLI, then ``apps:import``ed); whether it is bound now. The admission policy
    lets it bind itself in a namespace with Shipway's labels and nowhere else, so this
    grants nothing the server could not already give itself."""
    if service_account() is None:
        return True
    found = store.read(client, "Namespace", namespace, None, f"read namespace {namespace}")
    labels = (found.metadata.labels or {}) if found is not None else {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY or LABEL_INSTANCE not in labels:
        return False
    if found.metadata.deletionTimestamp:
        return False
    grant(client, namespace)
    return True
