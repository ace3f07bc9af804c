"""What an app keeps in its namespace between releases: config vars set with
``config:set``, the process formation set with ``scale``, and the addon credentials."""

from __future__ import annotations

import secrets

from lightkube import Client, codecs
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret

from shipway import objects as o
from shipway.addons import ADDONS, password_key
from shipway.credentials import CredentialStore
from shipway.errors import ShipwayError, TemporaryError
from shipway.kube.client import api_errors, get_or_none
from shipway.releases import KEEP, decode
from shipway.render import generated_env_key, secrets_needed
from shipway.render.app import env_secret_name
from shipway.spec.model import AppSpec


def config_name(app: str) -> str:
    return f"{app}-config"


def formation_name(app: str) -> str:
    return f"{app}-formation"


def check_namespace(client: Client, namespace: str) -> bool:
    """Whether the namespace exists; refuses one that Shipway did not create."""
    with api_errors(f"read namespace {namespace}"):
        found = get_or_none(client, Namespace, namespace)
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
    with api_errors(f"read the config vars of {app}"):
        secret = get_or_none(client, Secret, config_name(app), namespace)
    return decode(secret.data or {}) if secret else {}


def save_config_vars(client: Client, namespace: str, app: str, env: dict[str, str]) -> None:
    secret = o.secret(config_name(app), namespace, o.labels(app, app, "config-vars"), env)
    secret["metadata"]["annotations"] = dict(KEEP)
    with api_errors(f"save the config vars of {app}"):
        client.apply(codecs.from_dict(secret), force=True)


def formation(client: Client, namespace: str, app: str) -> dict[str, int]:
    with api_errors(f"read the formation of {app}"):
        found = get_or_none(client, ConfigMap, formation_name(app), namespace)
    return {k: int(v) for k, v in ((found.data or {}) if found else {}).items()}


def save_formation(client: Client, namespace: str, app: str, counts: dict[str, int]) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": formation_name(app),
            "namespace": namespace,
            "labels": o.labels(app, app, "formation"),
            "annotations": dict(KEEP),
        },
        "data": {k: str(v) for k, v in sorted(counts.items())},
    }
    with api_errors(f"save the formation of {app}"):
        client.apply(codecs.from_dict(configmap), force=True)


def credentials(
    client: Client, namespace: str, spec: AppSpec, store: CredentialStore
) -> dict[str, str]:
    """Addon passwords and generated vars: the cluster's when it has them (so every user
    and every redeploy keeps them), else the local store's, else new ones."""
    found: dict[str, str] = {}
    for kind in spec.services:
        addon = ADDONS[kind]
        with api_errors(f"read the {kind} credentials"):
            secret = get_or_none(client, Secret, addon.secret_name(spec.name), namespace)
        value = decode(secret.data or {}).get(addon.password_env) if secret else None
        if value:
            found[password_key(kind)] = value
    with api_errors("read the app's environment"):
        env_secret = get_or_none(client, Secret, env_secret_name(spec.name), namespace)
    env = decode(env_secret.data or {}) if env_secret else {}
    for var in spec.generated_env:
        if env.get(var):
            found[generated_env_key(var)] = env[var]
    missing = [name for name in secrets_needed(spec) if name not in found]
    if missing:
        local = store.ensure(namespace, spec.name, missing)
        found |= {name: local.get(name) or secrets.token_urlsafe(24) for name in missing}
    return found
