"""How the web process starts and the port it listens on, from every file that says.

The web command comes from the app spec (Procfile, shipway.yaml…); else, with an own
Dockerfile, the image's own CMD; else another platform's config file; else the
framework's production server. The port is the one that command really listens on: a
port written in it (or its server's default, which ignores ``$PORT``) wins; a command
that reads ``$PORT`` listens on whatever the app declares (spec, platform file,
Dockerfile), since Shipway sets ``PORT`` to the plan's port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shipway.detect import dockerfile, framework, platforms, python
from shipway.detect.listen import Context, Listen, port_number
from shipway.detect.plan import Dependencies
from shipway.detect.servers import analyse
from shipway.spec.model import AppSpec

DEFAULT_PORT = python.DEFAULT_PORT


@dataclass(frozen=True)
class Web:
    #: The web command when the spec gives none (``None``: keep the image's own CMD).
    command: str | list[str] | None
    source: str | None
    #: The framework's command, when detection chose it (its server may need installing).
    detected: framework.WebCommand | None
    port: int
    port_source: str
    listen: Listen | None = None
    hints: platforms.Hints = field(default_factory=platforms.Hints)
    docker: dockerfile.Dockerfile | None = None
    warnings: list[str] = field(default_factory=list)


def plan_web(app_dir: Path, spec: AppSpec, deps: Dependencies, own_dockerfile: bool) -> Web:
    spec_command = spec.web.command if spec.web else None
    asks_web = spec.web is not None or not spec.processes
    hints = platforms.read(app_dir) if spec_command is None and asks_web else platforms.Hints()
    docker = dockerfile.read(app_dir) if own_dockerfile else None
    detected = None
    source: str | None
    if spec_command is not None:
        command, source = spec_command, "app spec"
    elif docker is not None:
        command, source = None, "Dockerfile"
    elif hints.command is not None:
        command, source = hints.command, hints.source
    else:
        detected = framework.web_command(app_dir, deps) if asks_web else None
        command, source = (detected.command, "detected") if detected else (None, None)
    listen = _listen(app_dir, spec, command, source, docker)
    port, port_source, warnings = _port(app_dir, spec, listen, hints, docker)
    return Web(command, source, detected, port, port_source, listen, hints, docker, warnings)


def _listen(
    app_dir: Path,
    spec: AppSpec,
    command: str | list[str] | None,
    source: str | None,
    docker: dockerfile.Dockerfile | None,
) -> Listen | None:
    origin = "app" if source in ("app spec", "detected", None) else source
    ctx = Context(app_dir, dict(spec.env), origin)
    if command is not None:
        return analyse(command, ctx)
    if docker is None:
        return None
    found = analyse(docker.cmd, ctx) if docker.cmd else None
    if (found is None or found.server == "python") and docker.command:
        found = analyse(docker.command, ctx) or found
    return found


def _declared(
    spec: AppSpec, hints: platforms.Hints, docker: dockerfile.Dockerfile | None
) -> tuple[int, str] | None:
    """The port the app's files declare, most explicit first."""
    candidates = [
        (spec.port, "app spec"),
        (port_number(spec.env.get("PORT", "")), "app spec"),
        (hints.port, hints.port_source or ""),
        (docker.env_port if docker else None, "Dockerfile"),
        (docker.expose if docker else None, "Dockerfile"),
    ]
    return next(((port, where) for port, where in candidates if port), None)


def _port(
    app_dir: Path,
    spec: AppSpec,
    listen: Listen | None,
    hints: platforms.Hints,
    docker: dockerfile.Dockerfile | None,
) -> tuple[int, str, list[str]]:
    declared = _declared(spec, hints, docker)
    warnings = list(listen.notes) if listen else []
    if listen is not None and listen.port and not listen.reads_port:
        port, source = _fixed(listen, declared, warnings)
    elif listen is not None and listen.reads_port:
        default = (listen.port, f"{listen.server} default") if listen.port else None
        port, source = declared or default or (DEFAULT_PORT, "default")
    else:
        port, source = declared or _in_source(app_dir, listen) or (DEFAULT_PORT, "default")
    if listen is not None and listen.loopback:
        warnings.append(
            f"web listens on {listen.host}:{port} only, which a Service cannot reach; "
            f"bind 0.0.0.0 (e.g. {listen.fix})"
        )
    return port, source, warnings


def _in_source(app_dir: Path, listen: Listen | None) -> tuple[int, str] | None:
    """``python app.py``: a port its source names (``app.run(port=8081)``)."""
    script = listen.script if listen else None
    found = python.port_in_source(app_dir, script) if script else None
    return (found, "source") if found else None


def _fixed(
    listen: Listen, declared: tuple[int, str] | None, warnings: list[str]
) -> tuple[int, str]:
    """A port the command fixes wins: the app listens there whatever ``PORT`` says."""
    port = listen.port or DEFAULT_PORT
    if listen.default_port:
        how, source = (
            f"{listen.server} listens on its default port {port}",
            f"{listen.server} default",
        )
    else:
        how, source = f"the web command listens on {port}", "web command"
    if declared and declared[0] != port:
        warnings.append(
            f"{declared[1]} declares port {declared[0]} but {how}; Shipway uses {port} "
            f"(to follow PORT, start {listen.server} with e.g. {listen.fix})"
        )
    return port, source
