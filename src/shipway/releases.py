"""Numbered, immutable release records kept in the app's namespace.

Each release is a ConfigMap ``<app>-release-v<N>`` (data immutable) holding everything
needed to render that release again without the source — spec, build plan, image
digest, exposure — and a Secret ``<app>-release-v<N>-env`` with the config vars it ran
with. Its status (pending, succeeded, failed) is an annotation, the one mutable part.
Any teammate's CLI sees the same history.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from shipway import access
from shipway import objects as o
from shipway.detect.plan import BuildPlan
from shipway.errors import ShipwayError
from shipway.kube import store
from shipway.kube.client import Client
from shipway.listing import LATEST, LATEST_STATUS, RECORD, STATUS, Status, records
from shipway.spec.model import AppSpec


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    description: str
    image: str
    spec: AppSpec
    plan: BuildPlan
    expose: str
    ingress_class: str | None = None
    addon_repositories: dict[str, str] = {}
    #: Per addon, the image tag it runs (resolved against the registry's tags at deploy).
    addon_versions: dict[str, str] = {}
    config_hash: str
    spec_hash: str = ""
    created: str
    by: str
    status: Status = "pending"
    #: A rollback runs the pods of the release it returns to: while they still run
    #: (an automatic rollback after a failed rollout), nothing restarts.
    pods_of: int | None = None


#: What a release runs; two releases alike in these run the same pods.
RUNS = {
    "image",
    "spec",
    "plan",
    "expose",
    "ingress_class",
    "addon_repositories",
    "addon_versions",
    "config_hash",
}


def same_run(a: Release, b: Release) -> bool:
    return a.model_dump(include=RUNS) == b.model_dump(include=RUNS)


def who() -> str:
    """Who makes a release now (``access.AUTHOR``)."""
    return access.who()


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_name(app: str, version: int) -> str:
    return f"{app}-release-v{version}"


def env_name(app: str, version: int) -> str:
    return f"{record_name(app, version)}-env"


def history(client: Client, namespace: str, app: str) -> list[Release]:
    """All releases, newest first."""
    return [Release.model_validate(data) for data in records(client, namespace, app)]


def create(client: Client, namespace: str, release: Release, env: dict[str, str]) -> None:
    app = release.spec.name
    labels = {**o.labels(app, app, "release"), o.RELEASE: str(release.version)}
    body = release.model_dump(mode="json", exclude={"status"})
    record = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": record_name(app, release.version),
            "namespace": namespace,
            "labels": labels,
            "annotations": {**o.KEEP, STATUS: release.status},
        },
        "immutable": True,
        "data": {RECORD: json.dumps(body, sort_keys=True)},
    }
    snapshot = o.secret(env_name(app, release.version), namespace, labels, env)
    snapshot["metadata"]["annotations"] = dict(o.KEEP)
    snapshot["immutable"] = True
    store.create(client, snapshot, f"record release v{release.version}")
    store.create(client, record, f"record release v{release.version}")
    _mark_latest(client, namespace, release.version, release.status)


def set_status(client: Client, namespace: str, app: str, version: int, status: Status) -> None:
    patch = {"metadata": {"annotations": {STATUS: status}}}
    name = record_name(app, version)
    store.patch(client, "ConfigMap", name, namespace, patch, f"mark release v{version} {status}")
    _mark_latest(client, namespace, version, status)


def _mark_latest(client: Client, namespace: str, version: int, status: Status) -> None:
    patch = {"metadata": {"annotations": {LATEST: str(version), LATEST_STATUS: status}}}
    store.patch(client, "Namespace", namespace, None, patch, f"mark release v{version} {status}")


def env_of(client: Client, namespace: str, app: str, version: int) -> dict[str, str]:
    what = f"read the config of release v{version}"
    secret = store.read(client, "Secret", env_name(app, version), namespace, what)
    if secret is None:
        raise ShipwayError(f"release v{version} has no config record ({env_name(app, version)})")
    return store.secret_values(secret)
