"""Server-side apply of an app's objects, and pruning what its release no longer has.

Objects go to the API server and come back as JSON (dicts), never as lightkube's typed
models: building a model's decoder costs 10-20 ms of CPU per kind the first time in a
process, on the path between a build and the new pods starting, and nothing here reads
more than a name or an annotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lightkube import Client
from lightkube.core.resource import NamespacedResource, Resource, api_info
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Secret, Service
from lightkube.resources.networking_v1 import Ingress, NetworkPolicy
from lightkube.types import CascadeType, PatchType

from shipway.kube.client import api_errors
from shipway.objects import KEEP, LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, Obj

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


_AS_JSON: dict[type[Resource], Any] = {}


def as_json(resource: type[Resource]) -> Any:
    """``resource``'s kind, read and written as the API server's JSON (a dict)."""
    found = _AS_JSON.get(resource)
    if found is None:
        namespaced = issubclass(resource, NamespacedResource)
        base = GenericNamespacedResource if namespaced else GenericGlobalResource
        found = type(resource.__name__, (base,), {"_api_info": api_info(resource)})
        _AS_JSON[resource] = found
    return found


def _kind_of(obj: Obj) -> Any:
    return as_json(resource_registry.load(obj["apiVersion"], obj["kind"]))


def apply_all(client: Client, objects: Iterable[Obj], force: bool = True) -> None:
    for obj in objects:
        meta = obj["metadata"]
        with api_errors(f"apply {obj['kind']} {meta.get('namespace', '')}/{meta['name']}"):
            _apply(client, obj, force=force)


def dry_run(client: Client, objects: Iterable[Obj]) -> None:
    for obj in objects:
        with api_errors(f"validate {obj['kind']} {obj['metadata']['name']}"):
            _apply(client, obj, force=True, dry_run=True)


def _apply(client: Client, obj: Obj, force: bool, dry_run: bool = False) -> None:
    meta = obj["metadata"]
    client.patch(
        _kind_of(obj),
        meta["name"],
        obj,
        namespace=meta.get("namespace"),
        patch_type=PatchType.APPLY,
        force=force,
        dry_run=dry_run,
    )


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
        kind, listed = resource.__name__, as_json(resource)
        with api_errors(f"list {kind}s of {app}"):
            found: list[Any] = list(client.list(listed, namespace=namespace, labels=labels))
        for item in found:
            name = item["metadata"]["name"]
            if (kind, name) in wanted or _protected(item):
                continue
            with api_errors(f"delete {kind} {name}"):
                client.delete(listed, name, namespace=namespace, cascade=CascadeType.BACKGROUND)
            deleted.append(f"{kind}/{name}")
    return deleted


def _protected(item: Any) -> bool:
    """Objects Shipway keeps outside of releases (release records, platform state)."""
    annotations = item["metadata"].get("annotations") or {}
    return all(annotations.get(key) == value for key, value in KEEP.items())
