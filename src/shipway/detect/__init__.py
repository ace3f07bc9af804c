"""From an ``AppSpec`` and the app's files, the ``BuildPlan``: how to build and start it.

The spec says what the user wrote; detection fills every gap the way Heroku's Python
buildpack would: the Python version, how to install dependencies, the start command of
each process (a production server for known frameworks), and the port.
"""

from __future__ import annotations

from pathlib import Path

from shipway.detect import framework, python
from shipway.detect.plan import BuildPlan, Dependencies, ProcessPlan
from shipway.errors import SpecError
from shipway.spec.model import AppSpec

__all__ = ["BuildPlan", "Dependencies", "ProcessPlan", "detect"]

DOCKERFILE = "Dockerfile"


def detect(app_dir: Path, spec: AppSpec) -> BuildPlan:
    version, version_source = python.version(app_dir, spec)
    deps = python.dependencies(app_dir)
    own_dockerfile = (app_dir / DOCKERFILE).is_file()
    web = None if own_dockerfile else framework.web_command(app_dir, deps)
    processes = _processes(spec, web, own_dockerfile)
    extras = [req for req in web.packages if _name(req) not in deps.names] if web else []
    needs_extras = web is not None and any(p.command == web.command for p in processes.values())
    return BuildPlan(
        python_version=version,
        python_version_source=version_source,
        base_image=f"python:{version}-slim",
        dependencies=deps if deps.kind else None,
        extra_packages=extras if needs_extras else [],
        framework=web.framework if web else None,
        processes=processes,
        port=spec.port or _port(app_dir, processes, own_dockerfile),
        dockerfile=DOCKERFILE if own_dockerfile else None,
        release=spec.release,
        healthcheck=spec.healthcheck,
    )


def _name(requirement: str) -> str:
    return python.normalise(requirement.split("==", maxsplit=1)[0])


def _processes(
    spec: AppSpec, web: framework.WebCommand | None, own_dockerfile: bool
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
            command = web.command if web else None
        if command is None and not (name == "web" and own_dockerfile):
            raise _no_command(name, spec)
        plans[name] = ProcessPlan(
            command=command,
            replicas=process.replicas if process else 1,
            resources=(process.resources if process else None) or spec.resources,
        )
    return plans


def _no_command(name: str, spec: AppSpec) -> SpecError:
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


def _port(app_dir: Path, processes: dict[str, ProcessPlan], own_dockerfile: bool) -> int:
    if own_dockerfile:
        exposed = python.exposed_port(app_dir / DOCKERFILE)
        if exposed:
            return exposed
    web = processes.get("web")
    script = python.script_of(web.command) if web and web.command else None
    found = python.port_in_source(app_dir / script) if script else None
    return found or python.DEFAULT_PORT
