"""``shipway deploy``: build the app's image, then release it (``releasing``) unless the
running release already runs the same thing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from shipway import appstate, project, releases
from shipway.addons.versions import K, registry_tags, resolve_services
from shipway.detect import buildsteps as detect_steps
from shipway.errors import ShipwayError
from shipway.image.builder import BuildRequest, BuildResult, BuildStep, build
from shipway.image.deps import package_indexes
from shipway.image.layer import Layer
from shipway.image.progress import Progress, Silent, stage
from shipway.image.reference import Reference, parse
from shipway.kube.client import Client, Target, connect
from shipway.kube.rollout import running
from shipway.objects import Obj, content_hash
from shipway.platform import Platform, choose_base_image
from shipway.platform import load as load_platform
from shipway.releases import Release
from shipway.releasing import (
    Outcome,
    app_url,
    render_release,
    roll_out,
    version_after,
    workloads,
)
from shipway.spec.model import Service
from shipway.spec.overlay import with_added_addons, with_added_domains

#: Runs a deploy's build and push for its target (``shipway.buildjob.job_builder``).
Builder = Callable[[Target, BuildRequest, Progress], BuildResult]


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
    builder: Builder | None = None,
) -> Outcome:
    """Build and release the app (named ``app``, else as its files say); when nothing
    changed (same image, spec, platform and config vars as the running release) and
    ``force`` is not set, release nothing. ``builder`` runs the build and push (default:
    here, in this process; the server's ``--build-runner job``: ``shipway.buildjob``)."""
    progress = progress or Silent()
    stage(progress, "detect")
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
    version = version_after(history)
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
    stage(progress, "build")
    _show_indexes(ready.project, progress)
    built = builder(target, request, progress) if builder else build(request, progress=progress)
    # The push is over: what follows is the release (is anything new, its addons'
    # credentials, its objects), which ``roll_out`` goes on with.
    stage(progress, "addons")
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
    list_tags = registry_tags(platform.insecure_registry)
    pull, push = platform.pull_registry, platform.registry
    # A repository named as the nodes pull it is asked for its tags where Shipway pushes
    # (the in-cluster server: 127.0.0.1:NodePort for nodes, the registry's Service for it).
    if pull and push and pull != push:
        list_tags = partial(_tags_at, list_tags, f"{pull}/", f"{push}/")
    resolved, warnings = resolve_services(
        services,
        platform.addon_images,
        list_tags,
        running.addon_versions if running else {},
    )
    return {str(kind): s.version or "" for kind, s in resolved.items()}, warnings


def _tags_at(list_tags: Callable[[str], list[str]], pull: str, push: str, repo: str) -> list[str]:
    return list_tags(push + repo.removeprefix(pull) if repo.startswith(pull) else repo)


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
        # Only apps with build steps need the pod runner and the tar reader.
        from shipway import buildsteps  # noqa: PLC0415
        from shipway.image.blobs import BlobStore  # noqa: PLC0415

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
    spec = with_added_addons(proj.spec, added, proj.sources)
    domains = appstate.added_domains(target.client, target.namespace, target.app)
    proj = replace(proj, spec=with_added_domains(spec, domains))
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
