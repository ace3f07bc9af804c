"""Platform settings shared by every user of a cluster: where images go, what addons run.

Kept in the cluster (ConfigMap ``shipway-platform`` in namespace ``shipway-system``), set
with ``shipway platform set``; environment variables and CLI flags override it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from shipway.errors import ShipwayError
from shipway.kube import store
from shipway.kube.client import Client
from shipway.objects import LABEL_MANAGED_BY, MANAGED_BY

NAMESPACE = "shipway-system"
NAME = "shipway-platform"
ENV = {
    "registry": "SHIPWAY_REGISTRY",
    "pull_registry": "SHIPWAY_PULL_REGISTRY",
    "base_image": "SHIPWAY_BASE_IMAGE",
    "expose": "SHIPWAY_EXPOSE",
}


class Platform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Where `shipway deploy` pushes images (host[:port][/prefix]).
    registry: str | None = None
    #: The same registry as the cluster's nodes reach it, when that address differs.
    pull_registry: str | None = None
    insecure_registry: bool = False
    base_image: str | None = None
    #: How web processes are exposed by default (clusterip, nodeport, ingress).
    expose: str = "nodeport"
    #: Per addon kind, the image repository to run instead of the official image.
    addon_images: dict[str, str] = {}

    def with_env(self) -> Platform:
        """Environment variables (SHIPWAY_REGISTRY, …) override the cluster's settings."""
        overrides = {key: os.environ[var] for key, var in ENV.items() if os.environ.get(var)}
        return self.model_copy(update=overrides)


def load(client: Client) -> Platform:
    # A user who may not read shipway-system gets the defaults.
    config = store.read_if_allowed(
        client, "ConfigMap", NAME, NAMESPACE, "read the platform settings"
    )
    return _parse(config.data or {}) if config else Platform()


def save(client: Client, platform: Platform) -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
    }
    data = {
        key: json.dumps(value) if not isinstance(value, str) else value
        for key, value in platform.model_dump(exclude_defaults=True).items()
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY},
        },
        "data": data,
    }
    store.apply(client, namespace, "save the platform settings")
    store.apply(client, configmap, "save the platform settings")


def update(platform: Platform, assignments: dict[str, str]) -> Platform:
    """``registry=…``, ``addon_images.mongodb=…``; an empty value resets a setting."""
    data: dict[str, Any] = platform.model_dump()
    for key, value in assignments.items():
        if key.startswith("addon_images."):
            kind = key.split(".", 1)[1]
            images = dict(data["addon_images"])
            if value:
                images[kind] = value
            else:
                images.pop(kind, None)
            data["addon_images"] = images
        elif key in Platform.model_fields and key != "addon_images":
            data[key] = value or Platform.model_fields[key].default
        else:
            raise ShipwayError(
                f"platform: unknown setting '{key}'; use one of "
                f"{', '.join(Platform.model_fields)} or addon_images.<addon>"
            )
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ShipwayError(
            f"platform: {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ) from None


def _parse(data: dict[str, str]) -> Platform:
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key in ("addon_images", "insecure_registry"):
            try:
                values[key] = json.loads(raw)
            except ValueError:
                raise ShipwayError(
                    f"{NAMESPACE}/{NAME}: '{key}' is not valid JSON; fix it "
                    "with shipway platform set"
                ) from None
        else:
            values[key] = raw
    try:
        return Platform.model_validate(values)
    except ValidationError as exc:
        raise ShipwayError(
            f"{NAMESPACE}/{NAME}: {exc.errors()[0]['msg']}; fix it with shipway platform set"
        ) from None
