"""Putting a release in the cluster: render → apply → prune → wait → record, and an
automatic rollback to the last good release on failure. Every verb that makes a release
(deploy, rollback, config:set) ends here; none of it builds images, so the day-2 verbs
import it without the image builder."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shipway import addon_secrets, appstate, grants, releases
from shipway.addons.versions import with_versions
from shipway.credentials import CredentialStore
from shipway.detect.plan import BuildPlan
from shipway.errors import DeployFailed
from shipway.image.progress import Progress, stage
from shipway.kube import store
from shipway.kube.apply import apply_all, prune
from shipway.kube.client import Client, Target
from shipway.kube.rollout import RolloutFailed, Workload, wait, wait_job
from shipway.objects import Obj
from shipway.releases import Release
from shipway.render import RenderOptions, render

if TYPE_CHECKING:
    from shipway.image.builder import BuildResult


@dataclass(frozen=True)
class Outcome:
    release: Release
    url: str | None
    build: BuildResult | None = None
    changed: bool = True  # False: nothing to release, the running release stays
    #: What the user should know but did not stop the deploy (a substituted version).
    warnings: list[str] = field(default_factory=list)


def roll_out(
    target: Target,
    release: Release,
    config_vars: dict[str, str],
    timeout: float,
    progress: Progress,
    auto_rollback: bool = True,
) -> Outcome:
    """Apply ``release`` and wait for it; on failure, go back to the last good release."""
    objects = render_release(target, release, config_vars)
    stage(progress, "addons")  # from here on the cluster changes
    progress.step(f"releasing v{release.version}: {release.description}")
    apply_all(target.client, objects[:1])  # the namespace, before what lives in it
    grants.grant(target.client, target.namespace)
    appstate.save_config_vars(target.client, target.namespace, target.app, config_vars)
    releases.create(target.client, target.namespace, release, config_vars)
    stages = _stages(objects[1:])
    try:
        # Heroku's order: backing services ready, then the release command, then processes.
        apply_all(target.client, stages.services)
        wait(target.client, target.namespace, workloads(stages.services), timeout)
        stage(progress, "apply")
        for job in stages.jobs:
            apply_all(target.client, [job])
            wait_job(target.client, target.namespace, job["metadata"]["name"], timeout)
        apply_all(target.client, stages.processes)
        stage(progress, "rollout")
        progress.step("waiting for the rollout")
        # While the new pods start: what the release no longer has goes, and the URL is
        # read (neither holds the rollout up).
        urls: list[str | None] = []

        def meanwhile() -> None:
            prune(target.client, target.namespace, target.app, objects)
            urls.append(app_url(target, objects))

        wait(
            target.client,
            target.namespace,
            workloads(stages.processes),
            timeout,
            meanwhile=meanwhile,
        )
    except RolloutFailed as failure:
        releases.set_status(target.client, target.namespace, target.app, release.version, "failed")
        back = _auto_rollback(target, release, timeout, progress) if auto_rollback else None
        suffix = f"; rolled back to v{back}" if back else ""
        raise DeployFailed(f"release v{release.version} failed: {failure}{suffix}", back) from None
    stage(progress, "release")
    releases.set_status(target.client, target.namespace, target.app, release.version, "succeeded")
    url = urls[0]
    if url:
        wait_reachable(url)
    return Outcome(release.model_copy(update={"status": "succeeded"}), url)


def _auto_rollback(
    target: Target, failed: Release, timeout: float, progress: Progress
) -> int | None:
    good = [
        r
        for r in releases.history(target.client, target.namespace, target.app)
        if r.status == "succeeded" and r.version < failed.version
    ]
    if not good:
        return None
    progress.step(f"rolling back to v{good[0].version}")
    rollback_to(
        target,
        good[0],
        f"Rollback to v{good[0].version} (v{failed.version} failed)",
        timeout,
        progress,
        auto_rollback=False,
    )
    return good[0].version


def rollback_to(
    target: Target,
    previous: Release,
    description: str,
    timeout: float,
    progress: Progress,
    auto_rollback: bool = True,
) -> Outcome:
    """A new release with ``previous``'s image, spec and config vars, as Heroku does."""
    env = releases.env_of(target.client, target.namespace, target.app, previous.version)
    release = previous.model_copy(
        update={
            "version": next_version(target),
            "description": description,
            "created": releases.now(),
            "by": releases.who(),
            "status": "pending",
            "pods_of": previous.pods_of or previous.version,
        }
    )
    return roll_out(target, release, env, timeout, progress, auto_rollback)


@dataclass(frozen=True)
class _Stages:
    services: list[Obj]
    jobs: list[Obj]
    processes: list[Obj]


def _stages(objects: list[Obj]) -> _Stages:
    return _Stages(
        services=[o for o in objects if o["kind"] not in ("Deployment", "Job")],
        jobs=[o for o in objects if o["kind"] == "Job"],
        processes=[o for o in objects if o["kind"] == "Deployment"],
    )


def render_release(target: Target, release: Release, config_vars: dict[str, str]) -> list[Obj]:
    services = with_versions(release.spec.services, release.addon_versions)
    spec = release.spec.model_copy(
        update={"env": {**release.spec.env, **config_vars}, "services": services}
    )
    plan = with_formation(
        release.plan, appstate.formation(target.client, target.namespace, target.app)
    )
    creds = addon_secrets.credentials(target.client, target.namespace, spec, CredentialStore())
    options = RenderOptions(
        image=release.image,
        expose=release.expose,  # type: ignore[arg-type]
        namespace=target.namespace,
        ingress_class=release.ingress_class,
        addon_repositories=release.addon_repositories,
        release=release.pods_of or release.version,
    )
    return render(spec, plan, options, creds)


def with_formation(plan: BuildPlan, counts: dict[str, int]) -> BuildPlan:
    processes = {
        name: p.model_copy(update={"replicas": counts.get(name, p.replicas)})
        for name, p in plan.processes.items()
    }
    return plan.model_copy(update={"processes": processes})


def workloads(objects: list[Obj]) -> list[Workload]:
    return [
        Workload(o["kind"], o["metadata"]["name"])
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
    ]


def next_version(target: Target) -> int:
    return version_after(releases.history(target.client, target.namespace, target.app))


def version_after(history: list[Release]) -> int:
    return history[0].version + 1 if history else 1


def app_url(target: Target, objects: list[Obj]) -> str | None:
    """Where the app answers: its Ingress host, its NodePort on a node, else None."""
    for obj in objects:
        if obj["kind"] == "Ingress":
            host = obj["spec"]["rules"][0].get("host")
            if host:
                return f"http://{host}/"
    service = store.read(
        target.client, "Service", target.app, target.namespace, "read the app's Service"
    )
    if service is None or service.spec.type != "NodePort":
        return None
    port = service.spec.ports[0].nodePort
    return f"http://{_node_address(target.client)}:{port}/"


def wait_reachable(url: str, timeout: float = 15, poll: float = 0.05) -> bool:
    """Ready pods are not yet a working URL: the node's proxy rules for a new Service come a
    moment later. Wait (bounded) until its port accepts connections, trying every ``poll``
    seconds (a refused connection costs next to nothing)."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=2):
                return True
        except OSError:
            time.sleep(poll)
    return False


def _node_address(client: Client) -> str:
    """127.0.0.1 for a cluster on this machine (its API server is on loopback), else the
    first node's external, then internal, address."""
    server = str(client.config.cluster.server)
    if "://127." in server or "://localhost" in server:
        return "127.0.0.1"
    nodes = store.find(client, "Node", None, {}, "list nodes")
    for wanted in ("ExternalIP", "InternalIP"):
        for node in nodes:
            for address in node.status.addresses or []:
                if address.type == wanted:
                    return str(address.address)
    return "127.0.0.1"
