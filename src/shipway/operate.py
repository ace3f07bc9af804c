"""Heroku's day-2 verbs on a deployed app: rollback, config vars, scaling, restarts,
one-off runs, info, addons, apps, destroy. Those that change what runs make a release."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shipway import appstate, releases
from shipway.addons import ADDONS
from shipway.errors import ShipwayError, TemporaryError
from shipway.image.progress import Progress, Silent
from shipway.kube import store
from shipway.kube.apply import RUNNING_KINDS, prune
from shipway.kube.client import Target
from shipway.kube.pods import OneOff
from shipway.kube.rollout import wait
from shipway.objects import (
    ANNOTATION_CONFIG_HASH,
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    MANAGED_BY,
    content_hash,
)
from shipway.releases import Release
from shipway.releasing import (
    Outcome,
    app_url,
    next_version,
    render_release,
    roll_out,
    rollback_to,
    workloads,
)
from shipway.render import app as app_objects
from shipway.spec.model import ENV_NAME

#: Set on a pod template by ``restart``, so the Deployment replaces its pods.
RESTARTED = "shipway.dev/restarted-at"


def current(target: Target) -> Release:
    """The release running now: the newest that succeeded."""
    release = running_release(target)
    if release is None:
        raise ShipwayError(
            f"app '{target.app}' has no successful release in namespace "
            f"'{target.namespace}'; deploy it first with shipway deploy"
        )
    return release


def running_release(target: Target) -> Release | None:
    """The newest release that succeeded, or None (not deployed yet, or only failures)."""
    for release in releases.history(target.client, target.namespace, target.app):
        if release.status == "succeeded":
            return release
    return None


def rollback(
    target: Target, version: str | None, timeout: float, progress: Progress | None = None
) -> tuple[Outcome, Release]:
    """A new release with the image, spec and config vars of ``version`` (``vN`` or ``N``;
    default: the successful release before the current one), and that release."""
    history = releases.history(target.client, target.namespace, target.app)
    if version is None:
        good = [r for r in history if r.status == "succeeded"]
        if len(good) < 2:
            raise ShipwayError(f"{target.app} has no earlier successful release to roll back to")
        wanted = good[1]
    else:
        number = version.removeprefix("v")
        matches = [r for r in history if str(r.version) == number]
        if not matches:
            raise ShipwayError(
                f"{target.app} has no release {version}; see shipway releases {target.app}"
            )
        wanted = matches[0]
    description = f"Rollback to v{wanted.version}"
    return rollback_to(target, wanted, description, timeout, progress or Silent()), wanted


def restart(target: Target, processes: list[str], timeout: float) -> list[str]:
    """Replace the pods of ``processes`` (default: all) one by one, as a rollout does, with
    the same release: for an app that needs a fresh start. Not a new release."""
    release = current(target)
    names = processes or _checked_types(target.app, release, processes)
    stamp = {"spec": {"template": {"metadata": {"annotations": {RESTARTED: releases.now()}}}}}
    for name in names:
        store.patch(
            target.client,
            "Deployment",
            f"{target.app}-{name}",
            target.namespace,
            stamp,
            f"restart {name}",
        )
    env = appstate.config_vars(target.client, target.namespace, target.app)
    objects = render_release(target, release, env)
    mine = [o for o in objects if o["kind"] == "Deployment" and _process(o) in names]
    wait(target.client, target.namespace, workloads(mine), timeout)
    return names


def _process(deployment: dict[str, Any]) -> str:
    return str(deployment["metadata"]["labels"][LABEL_COMPONENT])


@dataclass(frozen=True)
class Info:
    app: str
    namespace: str
    release: int
    image: str
    url: str | None
    formation: dict[str, int]
    addons: dict[str, str]
    config_vars: int
    created: str
    by: str


def info(target: Target) -> Info:
    """What ``shipway info`` shows: the running release, where it answers, what it runs."""
    release = current(target)
    env = appstate.config_vars(target.client, target.namespace, target.app)
    objects = render_release(target, release, env)
    counts = {_process(o): int(o["spec"]["replicas"]) for o in objects if o["kind"] == "Deployment"}
    return Info(
        app=target.app,
        namespace=target.namespace,
        release=release.version,
        image=release.image,
        url=app_url(target, objects),
        formation=counts,
        addons={k: _addon_version(release, k) for k in release.spec.services},
        config_vars=len(env),
        created=release.created,
        by=release.by,
    )


def set_config(
    target: Target, changes: dict[str, str | None], timeout: float, progress: Progress | None = None
) -> Outcome | None:
    """Set (value) or unset (None) config vars: a new release that rolls every process.
    Before the first deploy, the vars are only kept (None): that deploy uses them."""
    for name in changes:
        if not _valid_env_name(name):
            raise ShipwayError(
                f"config var '{name}' is not a valid name; use letters, digits "
                "and '_', not starting with a digit"
            )
    if not appstate.check_namespace(target.client, target.namespace):
        raise ShipwayError(
            f"app '{target.app}' does not exist; create it with shipway create {target.app} "
            "or deploy it first"
        )
    env = appstate.config_vars(target.client, target.namespace, target.app)
    missing = [k for k, v in changes.items() if v is None and k not in env]
    if missing:
        raise ShipwayError(
            f"config var {', '.join(missing)} is not set with config:set; nothing to unset"
        )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    running = running_release(target)
    if running is None:
        appstate.save_config_vars(target.client, target.namespace, target.app, env)
        return None
    verb = "Set" if all(v is not None for v in changes.values()) else "Update"
    release = running.model_copy(
        update={
            "version": next_version(target),
            "description": f"{verb} {', '.join(sorted(changes))} config vars",
            "config_hash": content_hash(env),
            "created": releases.now(),
            "by": releases.who(),
            "status": "pending",
        }
    )
    return roll_out(target, release, env, timeout, progress or Silent())


def _valid_env_name(name: str) -> bool:
    return re.fullmatch(ENV_NAME, name) is not None


def process_types(target: Target, wanted: Iterable[str] = ()) -> list[str]:
    """The running release's process types; an error names them if ``wanted`` has others."""
    return _checked_types(target.app, current(target), wanted)


def _checked_types(app: str, release: Release, wanted: Iterable[str]) -> list[str]:
    known = list(release.plan.processes)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ShipwayError(
            f"{app} has no process type {', '.join(map(repr, unknown))}; "
            f"its process types are {', '.join(known)}"
        )
    return known


def scale(target: Target, counts: dict[str, int]) -> dict[str, int]:
    """Set process counts now and for every later release (the formation)."""
    process_types(target, counts)
    formation = appstate.formation(target.client, target.namespace, target.app) | counts
    appstate.save_formation(target.client, target.namespace, target.app, formation)
    for name, replicas in counts.items():
        client, namespace, body = target.client, target.namespace, {"spec": {"replicas": replicas}}
        store.patch(client, "Deployment", f"{target.app}-{name}", namespace, body, f"scale {name}")
    return formation


def run(
    target: Target, command: list[str], emit: Callable[[str], None], timeout: float = 300
) -> int:
    """Run ``command`` once in a new pod with the app's image and config; its exit code."""
    release = current(target)
    env = appstate.config_vars(target.client, target.namespace, target.app)
    objects = render_release(target, release, env)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ctx = app_objects.AppContext(
        release.spec,
        release.plan,
        target.namespace,
        release.image,
        annotations[ANNOTATION_CONFIG_HASH],
        release.version,
    )
    name = f"{target.app}-run-{secrets.token_hex(3)}"
    pod = app_objects.one_off_pod(ctx, name, command)
    return OneOff(target.client, pod).run(emit, timeout)


@dataclass(frozen=True)
class AddonState:
    kind: str
    version: str
    ready: str
    storage: str


def addons(target: Target) -> list[AddonState]:
    release = current(target)
    found = []
    for kind, service in release.spec.services.items():
        name = f"{target.app}-{kind}"
        what = f"read addon {kind}"
        sts = store.read(target.client, "StatefulSet", name, target.namespace, what)
        claim = store.read(
            target.client, "PersistentVolumeClaim", f"data-{name}-0", target.namespace, what
        )
        ready = f"{(sts.status.readyReplicas or 0) if sts and sts.status else 0}/1"
        storage = f"{service.storage} ({claim.status.phase})" if claim and claim.status else "-"
        found.append(AddonState(kind, _addon_version(release, kind), ready, storage))
    return found


def _addon_version(release: Release, kind: str) -> str:
    """The version the release runs (resolved at deploy; older releases did not record it)."""
    service = release.spec.services[kind]  # type: ignore[index]
    return release.addon_versions.get(kind) or ADDONS[kind].version(service)


def data_volumes(target: Target) -> list[str]:
    """The app's addon volumes (its PersistentVolumeClaims), which ``destroy`` deletes or
    keeps only when told which; an error if the app is not deployed here."""
    _check_deployed(target)
    labels = {LABEL_INSTANCE: target.app, LABEL_MANAGED_BY: MANAGED_BY}
    what = f"list the volumes of {target.app}"
    claims = store.find(target.client, "PersistentVolumeClaim", target.namespace, labels, what)
    return sorted(claim.metadata.name for claim in claims)


def _check_deployed(target: Target) -> None:
    if not appstate.check_namespace(target.client, target.namespace):
        raise ShipwayError(
            f"app '{target.app}' is not deployed here (no namespace "
            f"'{target.namespace}'); see shipway apps"
        )


def destroy(target: Target, keep_data: bool, timeout: float = 180) -> list[str]:
    """Remove the app. Without ``keep_data``, its namespace and everything in it, addon
    data included. With it, every running part, but not the addon volumes nor what is
    needed to use them again (credentials, release history): a redeploy finds its data.

    The addons' Services stay as well: they run nothing, and they keep their addresses, so
    the name a redeployed app looks up is not answered with a dead address from DNS caches
    (CoreDNS keeps answers for 30 s: a new Service would leave the app without its
    database for that long)."""
    _check_deployed(target)
    if keep_data:
        addresses = [
            {"kind": "Service", "metadata": {"name": addon.name(target.app)}}
            for addon in ADDONS.values()
        ]
        return prune(
            target.client, target.namespace, target.app, keep=addresses, kinds=RUNNING_KINDS
        )
    what = f"delete namespace {target.namespace}"
    store.delete(target.client, "Namespace", target.namespace, None, what)
    deadline = time.monotonic() + timeout
    while store.read(target.client, "Namespace", target.namespace, None, what) is not None:
        if time.monotonic() > deadline:
            raise TemporaryError(
                f"namespace {target.namespace} is still being deleted "
                f"after {timeout:.0f} s; it will go on its own"
            )
        time.sleep(1)
    return [f"Namespace/{target.namespace}"]
