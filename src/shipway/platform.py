"""Platform settings shared by every user of a cluster: where images go, what addons run.

Kept in the cluster (ConfigMap ``shipway-platform`` in namespace ``shipway-system``), set
with ``shipway platform set``; environment variables and CLI flags override it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from shipway.detect.runtime import allowed_minors
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
    "insecure_registry": "SHIPWAY_INSECURE_REGISTRY",
}


TRUE = ("1", "true", "yes")
#: Maps set as JSON objects (the in-cluster server's base images, e.g.).
MAP_ENV = {"base_images": "SHIPWAY_BASE_IMAGES", "addon_images": "SHIPWAY_ADDON_IMAGES"}


def _env_map(var: str) -> dict[str, str]:
    try:
        value = json.loads(os.environ[var])
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ShipwayError(f"${var} is not a JSON object of strings; fix or unset it")
    return value


class Platform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Where `shipway deploy` pushes images (host[:port][/prefix]).
    registry: str | None = None
    #: The same registry as the cluster's nodes reach it, when that address differs.
    pull_registry: str | None = None
    insecure_registry: bool = False
    #: The base image of apps that ask for no Python version (and of every app when
    #: ``base_images`` is empty).
    base_image: str | None = None
    #: Per Python minor version ("3.13"), the base image that offers it.
    base_images: dict[str, str] = {}
    #: How web processes are exposed by default (clusterip, nodeport, ingress).
    expose: str = "nodeport"
    #: Per addon kind, the image repository to run instead of the official image.
    addon_images: dict[str, str] = {}

    @field_validator("base_images")
    @classmethod
    def _minor_versions(cls, value: dict[str, str]) -> dict[str, str]:
        for minor in value:
            if not re.fullmatch(r"\d\.\d{1,2}", minor):
                raise ValueError(f"'{minor}' is not a Python minor version; write e.g. 3.13")
        return value

    def with_env(self) -> Platform:
        """Environment variables (SHIPWAY_REGISTRY, …) override the cluster's settings."""
        overrides: dict[str, Any] = {
            key: os.environ[var] for key, var in ENV.items() if os.environ.get(var)
        }
        if "insecure_registry" in overrides:
            overrides["insecure_registry"] = overrides["insecure_registry"].lower() in TRUE
        for key, var in MAP_ENV.items():
            if os.environ.get(var):
                overrides[key] = _env_map(var)
        return self.model_copy(update=overrides)


def load(client: Client) -> Platform:
    # A user who may not read shipway-system gets the defaults.
    config = store.read_if_allowed(
        client, "ConfigMap", NAME, NAMESPACE, "read the platform settings"
    )
    return _parse(config.data or {}) if config else Platform()


def namespace_object() -> dict[str, Any]:
    """``shipway-system``: what the platform settings and an installed server live in
    (its pods follow the ``restricted`` Pod Security Standard, enforced)."""
    restricted = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "warn")}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {LABEL_MANAGED_BY: MANAGED_BY, **restricted}},
    }


def save(client: Client, platform: Platform) -> None:
    namespace = namespace_object()
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


#: Settings that are maps, set one key at a time (``addon_images.mongodb=…``).
MAPS = ("addon_images", "base_images")


def update(platform: Platform, assignments: dict[str, str]) -> Platform:
    """``registry=…``, ``addon_images.mongodb=…``; an empty value resets a setting."""
    data: dict[str, Any] = platform.model_dump()
    for key, value in assignments.items():
        setting, _, member = key.partition(".")
        if setting in MAPS and member:
            entries = dict(data[setting])
            if value:
                entries[member] = value
            else:
                entries.pop(member, None)
            data[setting] = entries
        elif key in Platform.model_fields and key not in MAPS:
            data[key] = value or Platform.model_fields[key].default
        else:
            raise ShipwayError(
                f"platform: unknown setting '{key}'; use one of "
                f"{', '.join(k for k in Platform.model_fields if k not in MAPS)}, "
                "addon_images.<addon> or base_images.<python minor>"
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
        if key in (*MAPS, "insecure_registry"):
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


@dataclass(frozen=True)
class BaseChoice:
    """The base image an app builds on, and why when it is not the one it asked for."""

    image: str | None  # None: the plan's own default (python:<version>-slim)
    warning: str | None = None


def choose_base_image(
    platform: Platform, version: str, source: str, constraint: str | None
) -> BaseChoice:
    """The exact minor the app asks for; else the nearest newer offered minor its
    constraint allows (older too when no version file pinned it), with a warning naming
    both; else an error listing what is offered. An app that asks for nothing gets
    ``base_image`` when the platform sets one."""
    if not platform.base_images or (source == "default" and platform.base_image):
        return BaseChoice(platform.base_image)
    wanted = ".".join(version.split(".")[:2])
    fits = allowed_minors(version, constraint, source, platform.base_images)
    if not fits:
        offered = ", ".join(sorted(platform.base_images, key=_minor_key))
        limit = f" within '{constraint}'" if constraint else ""
        raise ShipwayError(
            f"Python {wanted} (from {source}) is not offered by this platform, nor a newer "
            f"version{limit}; it offers {offered}: ask for one of them in {source}"
        )
    chosen = fits[0]
    warning = None
    if chosen != wanted and source != "default":
        warning = (
            f"Python {wanted} (from {source}) is not offered by this platform; "
            f"building on Python {chosen}, the nearest version it offers that the app allows"
        )
    return BaseChoice(platform.base_images[chosen], warning)


def _minor_key(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return (int(major), int(rest)) if major.isdigit() and rest.isdigit() else (0, 0)
