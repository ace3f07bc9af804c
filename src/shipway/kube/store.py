"""Reading and writing the objects Shipway keeps in the cluster, by kind name: its own
records (releases, config vars, formation, platform settings) and the app's workloads.

Everything outside ``shipway.kube`` goes through here (or the other kube modules), so
each call carries a description of what it was for, and API failures become one-line
errors that say so.
"""

from __future__ import annotations

import base64
from typing import Any

from lightkube import ALL_NS, Client, codecs
from lightkube.core.exceptions import ApiError
from lightkube.resources.admissionregistration_v1 import (
    ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding,
)
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    Node,
    PersistentVolumeClaim,
    Pod,
    Secret,
    Service,
    ServiceAccount,
)
from lightkube.resources.rbac_authorization_v1 import (
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
)

from shipway.kube.client import api_errors, get_or_none
from shipway.objects import Obj

#: ``find``'s namespace for every namespace (None is the kubeconfig's namespace).
ALL_NAMESPACES: str = ALL_NS

KINDS: dict[str, Any] = {  # lightkube types each call per kind; by name, Any
    "ClusterRole": ClusterRole,
    "ClusterRoleBinding": ClusterRoleBinding,
    "ConfigMap": ConfigMap,
    "Deployment": Deployment,
    "Namespace": Namespace,
    "Node": Node,
    "PersistentVolumeClaim": PersistentVolumeClaim,
    "Pod": Pod,
    "Secret": Secret,
    "Role": Role,
    "RoleBinding": RoleBinding,
    "Service": Service,
    "ServiceAccount": ServiceAccount,
    "StatefulSet": StatefulSet,
    "ValidatingAdmissionPolicy": ValidatingAdmissionPolicy,
    "ValidatingAdmissionPolicyBinding": ValidatingAdmissionPolicyBinding,
}


def read(client: Client, kind: str, name: str, namespace: str | None, what: str) -> Any:
    """The object, or None when there is none."""
    with api_errors(what):
        return get_or_none(client, KINDS[kind], name, namespace)


def read_if_allowed(client: Client, kind: str, name: str, namespace: str, what: str) -> Any:
    """Like ``read``, but None also when RBAC forbids reading it."""
    with api_errors(what):
        try:
            return get_or_none(client, KINDS[kind], name, namespace)
        except ApiError as exc:
            if exc.status.code != 403:
                raise
            return None


def find(
    client: Client, kind: str, namespace: str | None, labels: dict[str, Any], what: str
) -> list[Any]:
    with api_errors(what):
        return list(client.list(KINDS[kind], namespace=namespace, labels=labels))


def find_if_allowed(
    client: Client, kind: str, namespace: str | None, labels: dict[str, Any], what: str
) -> list[Any] | None:
    """Like ``find``, but None when RBAC forbids the list."""
    with api_errors(what):
        try:
            return list(client.list(KINDS[kind], namespace=namespace, labels=labels))
        except ApiError as exc:
            if exc.status.code != 403:
                raise
            return None


def create(client: Client, obj: Obj, what: str) -> None:
    with api_errors(what):
        client.create(codecs.from_dict(obj))


def apply(client: Client, obj: Obj, what: str, field_manager: str | None = None) -> None:
    """Server-side apply, taking over fields another manager set; ``field_manager`` (default
    the client's) owns what ``obj`` sets, so another manager's later apply keeps it."""
    with api_errors(what):
        client.apply(codecs.from_dict(obj), force=True, field_manager=field_manager)


def patch(
    client: Client, kind: str, name: str, namespace: str | None, body: Obj, what: str
) -> None:
    with api_errors(what):
        client.patch(KINDS[kind], name, body, namespace=namespace)


def delete(client: Client, kind: str, name: str, namespace: str | None, what: str) -> None:
    with api_errors(what):
        client.delete(KINDS[kind], name, namespace=namespace)


def delete_if_present(
    client: Client, kind: str, name: str, namespace: str | None, what: str
) -> bool:
    """Delete the object; False when there was none."""
    with api_errors(what):
        try:
            client.delete(KINDS[kind], name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            return False
    return True


def secret_values(secret: Any) -> dict[str, str]:
    """A Secret's data, decoded; empty for None."""
    data = (secret.data or {}) if secret is not None else {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}
