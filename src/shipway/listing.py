"""What the read verbs list, without loading Shipway's models: the apps in a cluster
(``shipway apps``) and an app's releases (``shipway releases``).

The records are the ones ``releases`` writes; here they are read as plain JSON, for the
few fields a listing shows, so that these verbs start without pydantic. Listing every
app takes two API calls however many apps there are: each release marks its number and
status on the app's Namespace, which one call lists for all apps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from shipway import objects as o
from shipway.kube import store
from shipway.kube.client import Client

Status = Literal["pending", "succeeded", "failed"]
STATUSES: tuple[str, ...] = get_args(Status)
#: On a release record: its status, the one mutable part of it.
STATUS = "shipway.dev/status"
#: On the app's Namespace, its newest release and that release's status.
LATEST = "shipway.dev/latest-release"
LATEST_STATUS = "shipway.dev/latest-status"
RECORD = "release.json"


@dataclass(frozen=True)
class Summary:
    version: int
    status: str
    description: str
    image: str
    created: str
    by: str


def records(client: Client, namespace: str, app: str) -> list[dict[str, Any]]:
    """Every release record's data, with its status, newest first."""
    labels = {o.LABEL_INSTANCE: app, o.LABEL_COMPONENT: "release"}
    maps = store.find(client, "ConfigMap", namespace, labels, f"list the releases of {app}")
    found = []
    for item in maps:
        data = json.loads((item.data or {}).get(RECORD, "{}"))
        data["status"] = (item.metadata.annotations or {}).get(STATUS, "pending")
        found.append(data)
    return sorted(found, key=lambda d: int(d.get("version", 0)), reverse=True)


def releases(client: Client, namespace: str, app: str) -> list[Summary]:
    """The app's releases, newest first: what ``shipway releases`` shows."""
    return [_summary(d) for d in records(client, namespace, app)]


def _summary(data: dict[str, Any]) -> Summary:
    def text(key: str) -> str:
        return str(data.get(key, ""))

    version = int(data.get("version", 0))
    return Summary(
        version, text("status"), text("description"), text("image"), text("created"), text("by")
    )


def latest(namespace: Any) -> tuple[int, Status] | None:
    """The newest release and its status, from the app's Namespace object; None when it
    was not marked (no release yet, or releases made before the mark existed)."""
    annotations = namespace.metadata.annotations or {}
    version, status = annotations.get(LATEST, ""), annotations.get(LATEST_STATUS)
    if not version.isdigit() or status not in STATUSES:
        return None
    return int(version), status


def apps(client: Client) -> list[dict[str, Any]]:
    """Apps in the cluster: the namespaces Shipway manages ("created": no release yet). An
    app whose last release succeeded but that runs nothing was destroyed with its data
    kept: it is "stopped". Two API calls, plus one per app released before the marks."""
    labels = {o.LABEL_MANAGED_BY: o.MANAGED_BY}
    namespaces = store.find(client, "Namespace", None, labels, "list namespaces")
    what = "list the apps' processes"
    deployments = store.find_if_allowed(client, "Deployment", store.ALL_NAMESPACES, labels, what)
    if deployments is None:
        # The in-cluster server may list only in the app namespaces it was bound in
        # (``shipway.grants``); the apps of others are none of its business.
        deployments = [
            d
            for ns in namespaces
            if o.LABEL_INSTANCE in (ns.metadata.labels or {})
            for d in store.find_if_allowed(client, "Deployment", ns.metadata.name, labels, what)
            or []
        ]
    processes: dict[str, dict[str, int]] = {}
    for d in deployments:
        process = (d.metadata.labels or {}).get(o.LABEL_COMPONENT, "")
        processes.setdefault(d.metadata.namespace, {})[process] = d.spec.replicas or 0
    listed = []
    for ns in namespaces:
        app = (ns.metadata.labels or {}).get(o.LABEL_INSTANCE)
        if not app:
            continue
        version, status = latest(ns) or _from_records(client, ns.metadata.name, app)
        if status == "succeeded" and ns.metadata.name not in processes:
            status = "stopped"
        listed.append(
            {
                "app": app,
                "namespace": ns.metadata.name,
                "release": f"v{version}" if version else "-",
                "status": status,
                "processes": dict(sorted(processes.get(ns.metadata.name, {}).items())),
            }
        )
    return listed


def _from_records(client: Client, namespace: str, app: str) -> tuple[int, str]:
    found = releases(client, namespace, app)
    return (found[0].version, found[0].status) if found else (0, "created")
