"""The secrets a deployed app's addons and generated vars need: their passwords, generated
values and TLS pairs. Read back from the cluster so that every user and every redeploy
keeps them; made only when missing. Apart from ``appstate`` so that the verbs reading
settings (``config``) do not load the addons and render."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from shipway.addons import ADDONS, password_key, tls
from shipway.credentials import CredentialStore
from shipway.kube import store
from shipway.kube.client import Client
from shipway.render import generated_env_key, secrets_needed
from shipway.render.app import env_secret_name
from shipway.spec.model import AppSpec


def _secret_reader(client: Client, namespace: str) -> Callable[[str], dict[str, str]]:
    def values(name: str) -> dict[str, str]:
        return store.secret_values(store.read(client, "Secret", name, namespace, f"read {name}"))

    return values


def credentials(
    client: Client, namespace: str, spec: AppSpec, local_store: CredentialStore
) -> dict[str, str]:
    """Addon passwords and generated vars: the cluster's when it has them (so every user
    and every redeploy keeps them), else the local store's, else new ones."""
    found: dict[str, str] = {}
    for kind in spec.services:
        addon = ADDONS[kind]
        name = addon.secret_name(spec.name)
        secret = store.read(client, "Secret", name, namespace, f"read the {kind} credentials")
        value = store.secret_values(secret).get(addon.password_env)
        if value:
            found[password_key(kind)] = value
    env_secret = store.read(
        client, "Secret", env_secret_name(spec.name), namespace, "read the app's environment"
    )
    env = store.secret_values(env_secret)
    for var in spec.generated_env:
        if env.get(var):
            found[generated_env_key(var)] = env[var]
    found |= tls.ensure_tls(spec.services, spec.name, namespace, _secret_reader(client, namespace))
    missing = [name for name in secrets_needed(spec) if name not in found]
    if missing:
        local = local_store.ensure(namespace, spec.name, missing)
        found |= {name: local.get(name) or secrets.token_urlsafe(24) for name in missing}
    return found
