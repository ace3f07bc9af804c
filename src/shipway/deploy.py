"""``shipway deploy`` and the verbs that make a new release: build → render → apply →
prune → wait → record, and an automatic rollback to the last good release on failure."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shipway import appstate, buildsteps, project, releases
from shipway.addons.versions import K, registry_tags, resolve_services, with_versions
from shipway.credentials import CredentialStore
from shipway.detect import buildsteps as detect_steps
from shipway.detect.plan import BuildPlan
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.builder import BuildRequest, BuildResult, BuildStep, build
from shipway.image.deps import package_indexes
from shipway.image.layer import Layer
from shipway.image.progress import Progress, Silent
from shipway.image.reference import Reference, parse
from shipway.kube import store
from shipway.kube.apply import apply_all, prune
from shipway.kube.client import Client, connect
from shipway.kube.rollout import RolloutFailed, Workload, running, wait, wait_job
from shipway.objects import Obj, content_hash
from shipway.platform import Platform, choose_base_image
from shipway.platform import load as load_platform
from shipway.releases import Release
from shipway.render import RenderOptions, render
from shipway.spec.model import Service
from shipway.spec.overlay import with_added_addons


@dataclass(frozen=True)
class Target:
    """One app in one cluster."""

    client: Client
    namespace: str
    app: str


@dataclass(frozen=True)
class Outcome:
    release: Release
    url: str | None
    build: BuildResult | None = None
    changed: bool = True  # False: nothing to release, the running release stays
    #: What the user should know but did not stop the deploy (a substituted version).
    warnings: list[str] = field(default_factory=list)


class DeployFailed(ShipwayError):
    """The release did not come up; the app was rolled back to ``rolled_back_to``."""

    exit_code = 1

    def __init__(self, message: str, rolled_back_to: int | None):
        super().__init__(message)
        self.rolled_back_to = rolled_back_to


def platform_for(client: Client, overrides: dict[str, Any]) -> Platform:
    base = load_platform(client).with_env()
    return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def deploy(
    app_dir: Path,
    context: str | None,
    overrides: dict[str, Any],
    namespace: str | None,
    timeout: float,
    progress: Progress | None = None,
    force: bool = False,
    app: str | None = None,
) -> Outcome:
    """Build and release the app (named ``app``, else as its files say); when nothing
    changed (same image, spec, platform and config vars as the running release) and
    ``force`` is not set, release nothing."""
    progress = progress or Silent()
    proj = project.load(app_dir, app)
    client = connect(context)
    platform = platform_for(client, overrides)
    target = Target(client, namespace or proj.spec.name, proj.spec.name)
    appstate.check_namespace(client, target.namespace)
    if not platform.registry:
        raise ShipwayError(
            "no registry to push to: set one for the cluster with `shipway "
            "platform set registry=HOST:PORT`, or pass --registry"
        )
    history = releases.history(client, target.namespace, target.app)
    ready = _prepare(target, proj, platform, history, progress)
    spec, plan = ready.project.spec, ready.project.plan
    version = _after(history)
    push = parse(f"{platform.registry}/{spec.name}:v{version}", "registry")
    published = None if force or not history else history[0].image.partition("@")[2]
    config_vars = appstate.config_vars(client, target.namespace, target.app)
    pull_repository = f"{platform.pull_registry or platform.registry}/{spec.name}"
    steps = detect_steps.enabled(plan.build_steps, config_vars)
    request = BuildRequest(
        ready.project,
        ready.base,
        push,
        insecure=platform.insecure_registry,
        published=published,
        build_step=_build_step(
            target, ready.project, pull_repository, steps, config_vars, timeout, progress
        )
        if steps
        else None,
    )
    _show_indexes(ready.project, progress)
    built = build(request, progress=progress)
    release = Release(
        version=version,
        description=f"Deploy {built.digest[7:19]}",
        image=f"{pull_repository}@{built.digest}",
        spec=spec,
        plan=plan,
        expose=platform.expose,
        addon_repositories=platform.addon_images,
        addon_versions=ready.addon_versions,
        config_hash=content_hash(config_vars),
        spec_hash=content_hash(spec.model_dump(mode="json")),
        created=releases.now(),
        by=releases.who(),
    )
    if history and not force:
        live = _unchanged(target, release, history[0], config_vars)
        if live:
            return Outcome(history[0], app_url(target, live), built, False, ready.warnings)
    outcome = roll_out(target, release, config_vars, timeout, progress)
    return Outcome(outcome.release, outcome.url, built, warnings=ready.warnings)


def addon_versions(
    platform: Platform, services: Mapping[K, Service], running: Release | None
) -> tuple[dict[str, str], list[str]]:
    """Per addon, the tag it will run, found among the tags its repository offers (an
    unpinned addon keeps the version ``running`` runs), and the warnings to show."""
    resolved, warnings = resolve_services(
        services,
        platform.addon_images,
        registry_tags(platform.insecure_registry),
        running.addon_versions if running else {},
    )
    return {str(kind): s.version or "" for kind, s in resolved.items()}, warnings


def _show_indexes(proj: project.Project, progress: Progress) -> None:
    """The app's own choice of package indexes is visible before anything is installed
    from them, as ``shipway build`` prints it."""
    indexes = package_indexes(proj.app_dir, proj.plan, proj.context)
    if indexes:
        progress.step(f"package indexes, first that has a package wins: {', '.join(indexes)}")


def _build_step(
    target: Target,
    proj: project.Project,
    repository: str,
    steps: list[str],
    config_vars: dict[str, str],
    timeout: float,
    progress: Progress,
) -> BuildStep:
    """Runs the app's build steps in a pod of the image pushed by digest (see
    ``shipway.buildsteps``), its output shown as progress."""

    def run(digest: str) -> tuple[Layer, bool]:
        progress.step(f"build steps: {'; '.join(steps)}")
        run_pod = buildsteps.pod_runner(
            target.client, target.namespace, proj, f"{repository}@{digest}", config_vars, timeout
        )
        return buildsteps.build_layer(
            digest, steps, config_vars, run_pod, BlobStore(), progress.step
        )

    return run


@dataclass(frozen=True)
class _Prepared:
    project: project.Project
    base: Reference
    addon_versions: dict[str, str]
    warnings: list[str]


def _prepare(
    target: Target,
    proj: project.Project,
    platform: Platform,
    history: list[Release],
    progress: Progress,
) -> _Prepared:
    """What can stop a deploy before anything is built or applied: the addons made with
    ``addons:create`` joined to the files', the addon versions the registry offers, and
    the base image offering the app's Python."""
    added = appstate.added_addons(target.client, target.namespace, target.app)
    proj = replace(proj, spec=with_added_addons(proj.spec, added, proj.sources))
    running = next((r for r in history if r.status == "succeeded"), None)
    versions, warnings = addon_versions(platform, proj.spec.services, running)
    plan = proj.plan
    choice = choose_base_image(
        platform, plan.python_version, plan.python_version_source, plan.python_constraint
    )
    warnings = [*plan.warnings, *warnings, *([choice.warning] if choice.warning else [])]
    for warning in warnings:
        progress.step(f"warning: {warning}")
    return _Prepared(
        proj,
        parse(choice.image or plan.base_image, "base image"),
        versions,
        warnings,
    )


def _unchanged(
    target: Target, release: Release, latest: Release, config_vars: dict[str, str]
) -> list[Obj] | None:
    """The running release's objects, when it runs what ``release`` would and is up."""
    if latest.status != "succeeded" or not releases.same_run(release, latest):
        return None
    objects = render_release(target, latest, config_vars)
    return objects if running(target.client, target.namespace, workloads(objects)) else None


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
    progress.step(f"releasing v{release.version}: {release.description}")
    apply_all(target.client, objects[:1])  # the namespace, before what lives in it
    appstate.save_config_vars(target.client, target.namespace, target.app, config_vars)
    releases.create(target.client, target.namespace, release, config_vars)
    stages = _stages(objects[1:])
    try:
        # Heroku's order: backing services ready, then the release command, then processes.
        apply_all(target.client, stages.services)
        wait(target.client, target.namespace, workloads(stages.services), timeout)
        for job in stages.jobs:
            apply_all(target.client, [job])
            wait_job(target.client, target.namespace, job["metadata"]["name"], timeout)
        apply_all(target.client, stages.processes)
        prune(target.client, target.namespace, target.app, objects)
        progress.step("waiting for the rollout")
        wait(target.client, target.namespace, workloads(stages.processes), timeout)
    except RolloutFailed as failure:
        releases.set_status(target.client, target.namespace, target.app, release.version, "failed")
        back = _auto_rollback(target, release, timeout, progress) if auto_rollback else None
        suffix = f"; rolled back to v{back}" if back else ""
        raise DeployFailed(f"release v{release.version} failed: {failure}{suffix}", back) from None
    releases.set_status(target.client, target.namespace, target.app, release.version, "succeeded")
    url = app_url(target, objects)
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
    creds = appstate.credentials(target.client, target.namespace, spec, CredentialStore())
    options = RenderOptions(
        image=release.image,
        expose=release.expose,  # type: ignore[arg-type]
        namespace=target.namespace,
        ingress_class=release.ingress_class,
        addon_repositories=release.addon_repositories,
        release=release.version,
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
    return _after(releases.history(target.client, target.namespace, target.app))


def _after(history: list[Release]) -> int:
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


def wait_reachable(url: str, timeout: float = 15) -> bool:
    """Ready pods are not yet a working URL: the node's proxy rules for a new Service come a
    moment later. Wait (bounded) until its port accepts connections."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=2):
                return True
        except OSError:
            time.sleep(0.2)
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
