"""The in-cluster server's rights: the least that managing app namespaces needs.

RBAC, cluster-wide (ClusterRole ``shipway-server``):

* Namespaces: get, list, watch, create, update, patch, delete: an app is a namespace.
* RoleBindings: get, list, watch, create, update, patch, delete, and ``bind`` on the
  ClusterRole ``shipway-app-manager`` only (resourceNames): the server can open a
  namespace to itself, and grant nothing else (RBAC's escalation check refuses a
  binding to any role the server neither holds nor may bind).
* Nodes: get, list (the address a NodePort app is reached at).

In ``shipway-system`` (Role ``shipway-server``): read the platform settings (ConfigMap
``shipway-platform``) and update them.

In each app namespace, through the RoleBinding the server makes when it creates the
namespace (``shipway.grants``), the ClusterRole ``shipway-app-manager``: the app's
objects (Deployments, StatefulSets, ReplicaSets read, Services, Secrets, ConfigMaps,
PersistentVolumeClaims, Jobs, Pods with their logs and attach, Ingresses,
NetworkPolicies) and read access to Events. Nothing in a namespace it did not make.

What RBAC cannot express, a ValidatingAdmissionPolicy (``shipway-server-limits``) does,
for requests by the server's ServiceAccount only:

* a RoleBinding may be created, changed or deleted only in a namespace labelled
  ``app.kubernetes.io/managed-by=shipway`` (not ``shipway-system``), bound to
  ``shipway-app-manager`` for the server's own ServiceAccount;
* a namespace may be changed or deleted only if it already carries that label (so the
  server cannot adopt ``kube-system`` by labelling it, nor touch it in any other way),
  and ``shipway-system`` is never deleted by it;
* a namespace it creates or changes carries that label and enforces the ``restricted``
  Pod Security Standard (as every app namespace Shipway renders does): it can never make
  a namespace where a privileged pod would run.
"""

from __future__ import annotations

from shipway.grants import APP_MANAGER
from shipway.objects import LABEL_MANAGED_BY, MANAGED_BY, Obj

NAMESPACE = "shipway-system"
SERVER = "shipway-server"
POLICY = "shipway-server-limits"
RBAC = "rbac.authorization.k8s.io"
ALL = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]


def username(account: str = SERVER) -> str:
    return f"system:serviceaccount:{NAMESPACE}:{account}"


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {LABEL_MANAGED_BY: MANAGED_BY}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def service_account() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(SERVER, NAMESPACE),
        "automountServiceAccountToken": True,
    }


def server_cluster_role() -> Obj:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": _meta(SERVER),
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ALL[:-1]},
            {"apiGroups": [RBAC], "resources": ["rolebindings"], "verbs": ALL[:-1]},
            {
                "apiGroups": [RBAC],
                "resources": ["clusterroles"],
                "verbs": ["bind"],
                "resourceNames": [APP_MANAGER],
            },
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
        ],
    }


def app_manager_cluster_role() -> Obj:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole",
        "metadata": _meta(APP_MANAGER),
        "rules": [
            {
                "apiGroups": [""],
                "resources": [
                    "secrets",
                    "configmaps",
                    "services",
                    "persistentvolumeclaims",
                    "pods",
                ],
                "verbs": ALL,
            },
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["get", "create"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": READ},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
            {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ALL},
            {
                "apiGroups": ["apps"],
                "resources": ["deployments/scale", "statefulsets/scale"],
                "verbs": ["get", "update", "patch"],
            },
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ALL},
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "networkpolicies"],
                "verbs": ALL,
            },
        ],
    }


def _binding(kind: str, name: str, namespace: str | None = None) -> Obj:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": _meta(name, namespace),
        "roleRef": {
            "apiGroup": RBAC,
            "kind": "Role" if kind == "RoleBinding" else "ClusterRole",
            "name": name,
        },
        "subjects": [{"kind": "ServiceAccount", "namespace": NAMESPACE, "name": SERVER}],
    }


def system_role() -> Obj:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": _meta(SERVER, NAMESPACE),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": ["get", "update", "patch"],
                "resourceNames": ["shipway-platform"],
            },
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        ],
    }


#: CEL: does ``o`` (an object or null) carry Shipway's managed-by label?
def _managed(o: str) -> str:
    return (
        f"{o} != null && has({o}.metadata.labels) && "
        f"'{LABEL_MANAGED_BY}' in {o}.metadata.labels && "
        f"{o}.metadata.labels['{LABEL_MANAGED_BY}'] == '{MANAGED_BY}'"
    )


def _restricted(o: str) -> str:
    """CEL: ``o`` enforces the restricted Pod Security Standard (at the latest version):
    so the server can never make a namespace where privileged pods run."""
    labels, enforce, version = (
        f"{o}.metadata.labels",
        "pod-security.kubernetes.io/enforce",
        "pod-security.kubernetes.io/enforce-version",
    )
    return (
        f"'{enforce}' in {labels} && {labels}['{enforce}'] == 'restricted' && "
        f"(!('{version}' in {labels}) || {labels}['{version}'] == 'latest')"
    )


def admission_policy() -> Obj:
    is_binding = "request.resource.resource == 'rolebindings'"
    is_namespace = "request.resource.resource == 'namespaces'"
    binding_ok = (
        f"({_managed('namespaceObject')}) && namespaceObject.metadata.name != '{NAMESPACE}'"
    )
    binding_shape = (
        f"request.operation == 'DELETE' || (object.roleRef.kind == 'ClusterRole' && "
        f"object.roleRef.name == '{APP_MANAGER}' && "
        f"object.subjects.all(s, s.kind == 'ServiceAccount' && s.namespace == '{NAMESPACE}' "
        f"&& s.name == '{SERVER}'))"
    )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(POLICY),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [RBAC],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["rolebindings"],
                    },
                    {
                        "apiGroups": [""],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["namespaces"],
                    },
                ]
            },
            "matchConditions": [
                {
                    "name": "the-shipway-server",
                    "expression": f"request.userInfo.username == '{username()}'",
                }
            ],
            "validations": [
                {
                    "expression": f"!({is_binding}) || ({binding_ok})",
                    "message": "shipway-server may bind roles only in namespaces Shipway manages",
                    "reason": "Forbidden",
                },
                {
                    "expression": f"!({is_binding}) || ({binding_shape})",
                    "message": f"shipway-server may only bind {APP_MANAGER} to itself",
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        f"!({is_namespace}) || request.operation == 'CREATE' || "
                        f"({_managed('oldObject')})"
                    ),
                    "message": "shipway-server may change only namespaces Shipway manages",
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        f"!({is_namespace}) || request.operation == 'DELETE' || "
                        f"(({_managed('object')}) && {_restricted('object')})"
                    ),
                    "message": (
                        "shipway-server's namespaces carry Shipway's managed-by label and "
                        "enforce the restricted Pod Security Standard"
                    ),
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        f"!({is_namespace}) || request.operation != 'DELETE' || "
                        f"oldObject.metadata.name != '{NAMESPACE}'"
                    ),
                    "message": f"shipway-server may not delete {NAMESPACE}",
                    "reason": "Forbidden",
                },
            ],
        },
    }


def admission_binding() -> Obj:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(POLICY),
        "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
    }


def objects() -> list[Obj]:
    """In the order they are applied."""
    return [
        service_account(),
        app_manager_cluster_role(),
        server_cluster_role(),
        _binding("ClusterRoleBinding", SERVER),
        system_role(),
        _binding("RoleBinding", SERVER, NAMESPACE),
        admission_policy(),
        admission_binding(),
    ]
