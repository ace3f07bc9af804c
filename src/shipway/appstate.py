"""What an app keeps in its namespace between releases: config vars set with
``config:set``, the process formation set with ``scale``, the addons created with
``addons:create`` (the addon credentials: ``addon_secrets``). All of it outlives
``destroy --keep-data``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shipway import objects as o
from shipway.errors import ShipwayError, TemporaryError
from shipway.kube import store
from shipway.kube.client import Client

if TYPE_CHECKING:
    from shipway.spec.model import Service


def config_name(app: str) -> str:
    return f"{app}-config"


def formation_name(app: str) -> str:
    return f"{app}-formation"


def addons_name(app: str) -> str:
    return f"{app}-addons"


def check_namespace(client: Client, namespace: str) -> bool:
    """Whether the namespace exists; refuses one that Shipway did not create."""
    found = store.read(client, "Namespace", namespace, None, f"read namespace {namespace}")
    if found is None:
        return False
    labels = found.metadata.labels or {}
    if found.status and found.status.phase == "Terminating":
        raise TemporaryError(
            f"namespace '{namespace}' is still being deleted; wait until it "
            "is gone, then deploy again"
        )
    if labels.get(o.LABEL_MANAGED_BY) != o.MANAGED_BY:
        raise ShipwayError(
            f"namespace '{namespace}' exists and is not managed by Shipway; "
            "Shipway never takes it over: rename the app or pass --namespace"
        )
    return True


def config_vars(client: Client, namespace: str, app: str) -> dict[str, str]:
    what = f"read the config vars of {app}"
    return store.secret_values(store.read(client, "Secret", config_name(app), namespace, what))


def save_config_vars(client: Client, namespace: str, app: str, env: dict[str, str]) -> None:
    secret = o.secret(config_name(app), namespace, o.labels(app, app, "config-vars"), env)
    secret["metadata"]["annotations"] = dict(o.KEEP)
    store.apply(client, secret, f"save the config vars of {app}")


def formation(client: Client, namespace: str, app: str) -> dict[str, int]:
    data = _kept_map(client, namespace, formation_name(app), f"read the formation of {app}")
    return {k: int(v) for k, v in data.items()}


def save_formation(client: Client, namespace: str, app: str, counts: dict[str, int]) -> None:
    data = {k: str(v) for k, v in sorted(counts.items())}
    _save_kept_map(client, namespace, app, formation_name(app), "formation", data)


def added_addons(client: Client, namespace: str, app: str) -> dict[str, Service]:
    """The addons created with ``addons:create`` (with only the fields that were given)."""
    # Imported here: ``config`` and ``scale`` read this module, and need no pydantic.
    from shipway.spec.model import Service  # noqa: PLC0415

    data = _kept_map(client, namespace, addons_name(app), f"read the addons of {app}")
    return {kind: Service.model_validate(json.loads(raw)) for kind, raw in data.items()}


def save_added_addons(client: Client, namespace: str, app: str, addons: dict[str, Service]) -> None:
    data = {
        kind: json.dumps(s.model_dump(mode="json", by_alias=True, exclude_unset=True))
        for kind, s in sorted(addons.items())
    }
    _save_kept_map(client, namespace, app, addons_name(app), "addons", data)


def domains_name(app: str) -> str:
    return f"{app}-domains"


def added_domains(client: Client, namespace: str, app: str) -> list[str]:
    """The host names added with ``domains:add``, sorted."""
    return sorted(_kept_map(client, namespace, domains_name(app), f"read the domains of {app}"))


def save_added_domains(client: Client, namespace: str, app: str, hosts: list[str]) -> None:
    data = dict.fromkeys(sorted(hosts), "")
    _save_kept_map(client, namespace, app, domains_name(app), "domains", data)


def _kept_map(client: Client, namespace: str, name: str, what: str) -> dict[str, str]:
    found = store.read(client, "ConfigMap", name, namespace, what)
    return dict((found.data or {}) if found else {})


def _save_kept_map(
    client: Client, namespace: str, app: str, name: str, component: str, data: dict[str, str]
) -> None:
    """A ConfigMap of app settings that pruning and ``destroy --keep-data`` leave alone."""
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": o.labels(app, app, component),
            "annotations": dict(o.KEEP),
        },
        "data": data,
    }
    store.apply(client, configmap, f"save the {component} of {app}")
