"""Building blocks of the Kubernetes objects Shipway renders: metadata and pod security.

Shared by the app's objects and every addon's, so labels and the restricted security
profile are written once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

Obj = dict[str, Any]

MANAGED_BY = "shipway"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
ANNOTATION_CONFIG_HASH = "shipway.dev/config-hash"
#: On release records (a label) and on the pods a release runs (an annotation).
RELEASE = "shipway.dev/release"
#: On what outlives releases (records, settings): pruning and ``destroy --keep-data`` skip it.
KEEP = {"shipway.dev/prune": "never"}

#: Non-root IDs for app containers; numeric so the kubelet can verify runAsNonRoot.
APP_UID = 10001


def labels(app: str, name: str, component: str) -> dict[str, str]:
    return {
        LABEL_NAME: name,
        LABEL_INSTANCE: app,
        LABEL_COMPONENT: component,
        LABEL_PART_OF: app,
        LABEL_MANAGED_BY: MANAGED_BY,
    }


def selector(app: str, component: str) -> dict[str, str]:
    """The labels a controller selects its pods by: immutable, so kept minimal."""
    return {LABEL_INSTANCE: app, LABEL_COMPONENT: component}


def metadata(name: str, namespace: str | None, obj_labels: dict[str, str]) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(obj_labels)
    return meta


def secret(name: str, namespace: str, obj_labels: dict[str, str], data: dict[str, str]) -> Obj:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, obj_labels),
        "type": "Opaque",
        "data": encoded,
    }


def content_hash(data: Any) -> str:
    """A short stable hash, put on pod templates so pods roll when their config changes."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pod_security(uid: int) -> Obj:
    """Pod-level settings of the Pod Security Standards' ``restricted`` profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security(read_only_root: bool) -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
    }


def tcp_probe(port: str | int, period: int, failures: int) -> Obj:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures}
