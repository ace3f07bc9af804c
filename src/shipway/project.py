"""The pipeline front ends call: an app directory in, its spec, plan and objects out."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from shipway.credentials import CredentialStore
from shipway.detect import BuildPlan, detect
from shipway.errors import ShipwayError, SpecError
from shipway.image import reqfiles
from shipway.image.config import git_work_tree
from shipway.image.dockerfile import dockerfile
from shipway.image.reqfiles import Requirements
from shipway.objects import Obj
from shipway.render import RenderOptions, render, secrets_needed
from shipway.spec import AppSpec, load_sourced
from shipway.spec.partial import Partial


@dataclass(frozen=True)
class Project:
    app_dir: Path
    spec: AppSpec
    plan: BuildPlan
    #: Which file and line gave each field of ``spec``.
    sources: Partial = field(default_factory=dict)

    @cached_property
    def context(self) -> Path | None:
        """The repository holding the app when the app is a subdirectory of it (a
        monorepo): its shared files (``-r ../../requirements/common.txt``) may be read."""
        return repository_root(self.app_dir)


@dataclass(frozen=True)
class Rendered:
    objects: list[Obj]
    #: The generated Dockerfile, or ``None`` when the app ships its own.
    dockerfile: str | None


def load(app_dir: Path, name: str | None = None) -> Project:
    """The app's spec and build plan; ``name`` (``--app``) replaces the name its files
    give, as Heroku's ``-a`` does."""
    spec, sources = load_sourced(app_dir)
    if name is not None:
        spec = renamed(spec, name)
    return Project(app_dir, spec, detect(app_dir, spec), sources)


def repository_root(app_dir: Path) -> Path | None:
    """The git work tree above ``app_dir`` (not ``app_dir`` itself), if there is one."""
    root = git_work_tree(app_dir)
    return None if root == app_dir.resolve() else root


def renamed(spec: AppSpec, name: str) -> AppSpec:
    try:
        return AppSpec.model_validate({**spec.model_dump(by_alias=True), "name": name})
    except ValidationError:
        raise ShipwayError(
            f"--app '{name}': use lower-case letters, digits and '-', at most 40 characters"
        ) from None


def default_image(spec: AppSpec) -> str:
    return f"{spec.name}:latest"


def render_project(project: Project, options: RenderOptions, store: CredentialStore) -> Rendered:
    namespace = options.namespace or project.spec.name
    credentials = store.ensure(namespace, project.spec.name, secrets_needed(project.spec))
    objects = render(project.spec, project.plan, options, credentials)
    own = project.plan.dockerfile is not None
    if own:
        return Rendered(objects, None)
    requirements = docker_requirements(project)
    return Rendered(
        objects, dockerfile(project.plan, app_dir=project.app_dir, requirements=requirements)
    )


def docker_requirements(project: Project) -> Requirements | None:
    """``requirements.txt`` read and checked as ``shipway build`` reads it, for a
    generated Dockerfile (it installs the same files, with the same index rule); its files
    must be in the app, which is all a Docker build context of the app holds."""
    deps = project.plan.dependencies
    if deps is None or deps.kind != "requirements":
        return None
    req = reqfiles.read(project.app_dir, "requirements.txt", project.context)
    outside = next((rel for rel in req.files if rel.startswith("../")), None)
    if outside is not None:
        raise SpecError(
            "requirements.txt", None,
            f"includes {outside}, outside the app, which a Docker build of the app's "
            "directory cannot read", "build with the default builder",
        )  # fmt: skip
    return req
