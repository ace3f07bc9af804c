"""From an ``AppSpec`` and the app's files, the ``BuildPlan``: how to build and start it.

The spec says what the user wrote; detection fills every gap the way Heroku's Python
buildpack would: the Python version, how to install dependencies, the start command of
each process (a production server for known frameworks), and the port. Nothing here
runs the app's code: every file is read statically, bounded in size, inside the app.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from shipway.detect import buildsteps, files, framework, python, runtime, start
from shipway.detect.plan import BuildPlan, ProcessPlan
from shipway.errors import SpecError
from shipway.spec.model import AppSpec

DOCKERFILE = "Dockerfile"


def detect(app_dir: Path, spec: AppSpec) -> BuildPlan:
    choice = runtime.choose(app_dir, spec)
    deps = python.dependencies(app_dir)
    own_dockerfile = files.app_file(app_dir, DOCKERFILE) is not None
    web = start.plan_web(app_dir, spec, deps, own_dockerfile)
    processes = _processes(spec, web.command, own_dockerfile)
    detected = web.detected
    needs_extras = detected is not None and any(
        p.command == detected.command for p in processes.values()
    )
    extras = [r for r in detected.packages if _name(r) not in deps.names] if detected else []
    kind = (detected.framework if detected else None) or framework.framework_of(deps)
    return BuildPlan(
        python_version=choice.version,
        python_version_source=choice.source,
        python_constraint=choice.constraint,
        base_image=f"python:{choice.version}-slim",
        dependencies=deps if deps.kind else None,
        extra_packages=extras if needs_extras else [],
        framework=kind,
        processes=processes,
        port=web.port,
        dockerfile=DOCKERFILE if own_dockerfile else None,
        release=spec.release or web.hints.release,
        build_steps=buildsteps.build_steps(app_dir, spec, kind),
        healthcheck=spec.healthcheck or web.hints.healthcheck,
        web_command_source=web.source if "web" in processes else None,
        port_source=web.port_source,
        listen_host=web.listen.host if web.listen else None,
        web_workers=web.listen.workers if web.listen else None,
        django_settings=framework.django_settings(app_dir) if kind == "django" else None,
        dockerfile_command=web.docker.command if web.docker else None,
        warnings=[*choice.warnings, *web.warnings],
    )


def allowed_minors(plan: BuildPlan, offered: Iterable[str]) -> list[str]:
    """The offered Python minors (``"3.11"``…) the app may run on, best first: its own
    minor, then newer ones its constraint allows (nearest first), then — only when no
    version file pinned it — older allowed ones. Empty: nothing offered fits."""
    return runtime.allowed_minors(
        plan.python_version, plan.python_constraint, plan.python_version_source, offered
    )


def _name(requirement: str) -> str:
    return python.normalise(requirement.split("==", maxsplit=1)[0])


def _processes(
    spec: AppSpec, web: str | list[str] | None, own_dockerfile: bool
) -> dict[str, ProcessPlan]:
    declared = dict(spec.processes)
    if not declared:
        declared = {"web": spec.web} if spec.web else {}
    plans: dict[str, ProcessPlan] = {}
    names = set(declared) | ({"web"} if not spec.processes else set())
    for name in sorted(names):
        process = declared.get(name)
        command = process.command if process else None
        if command is None and name == "web" and not own_dockerfile:
            command = web
        if command is None and not (name == "web" and own_dockerfile):
            raise _no_command(name)
        plans[name] = ProcessPlan(
            command=command,
            replicas=process.replicas if process else 1,
            resources=(process.resources if process else None) or spec.resources,
        )
    return plans


def _no_command(name: str) -> SpecError:
    if name == "web":
        return SpecError(
            "app",
            "processes.web",
            "cannot tell how to start the web process",
            "add 'web: <command>' to a Procfile or processes.web to shipway.yaml",
        )
    return SpecError(
        "app",
        f"processes.{name}",
        "has no command",
        f"add '{name}: <command>' to the Procfile or shipway.yaml",
    )
