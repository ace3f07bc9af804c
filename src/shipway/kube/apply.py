"""Server-side apply of an app's objects, and pruning what its release no longer has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lightkube import Client, codecs
from lightkube.core.resource import NamespacedResource
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Secret, Service
from lightkube.resources.networking_v1 import Ingress, NetworkPolicy
from lightkube.types import CascadeType

from shipway.kube.client import api_errors
from shipway.objects import LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, Obj

#: Kinds a release owns and pruning may delete. Never PersistentVolumeClaims (addon data)
#: and never the Namespace: those go only with an explicit `shipway destroy`.
PRUNABLE: tuple[type[NamespacedResource], ...] = (
    Deployment,
    StatefulSet,
    Service,
    Ingress,
    NetworkPolicy,
    Secret,
    Job,
)
#: What runs, without the Secrets that hold config and credentials.
RUNNING_KINDS = (Deployment, StatefulSet, Service, Ingress, NetworkPolicy, Job)


def apply_all(client: Client, objects: Iterable[Obj], force: bool = True) -> None:
    for obj in objects:
        meta = obj["metadata"]
        with api_errors(f"apply {obj['kind']} {meta.get('namespace', '')}/{meta['name']}"):
            client.apply(codecs.from_dict(obj), force=force)


def dry_run(client: Client, objects: Iterable[Obj]) -> None:
    for obj in objects:
        with api_errors(f"validate {obj['kind']} {obj['metadata']['name']}"):
            client.apply(codecs.from_dict(obj), force=True, dry_run=True)


def prune(
    client: Client,
    namespace: str,
    app: str,
    keep: Iterable[Obj],
    kinds: tuple[type[NamespacedResource], ...] = PRUNABLE,
) -> list[str]:
    """Delete the app's managed objects that ``keep`` does not list; returns what went."""
    wanted = {(o["kind"], o["metadata"]["name"]) for o in keep}
    labels: dict[str, Any] = {LABEL_INSTANCE: app, LABEL_MANAGED_BY: MANAGED_BY}
    deleted = []
    for resource in kinds:
        kind = resource.__name__
        with api_errors(f"list {kind}s of {app}"):
            found: list[Any] = list(client.list(resource, namespace=namespace, labels=labels))
        for item in found:
            name = item.metadata.name
            if (kind, name) in wanted or _protected(item):
                continue
            with api_errors(f"delete {kind} {name}"):
                client.delete(resource, name, namespace=namespace, cascade=CascadeType.BACKGROUND)
            deleted.append(f"{kind}/{name}")
    return deleted


def _protected(item: Any) -> bool:
    """Objects Shipway keeps outside of releases (release records, platform state)."""
    annotations = item.metadata.annotations or {}
    return annotations.get("shipway.dev/prune") == "never"
