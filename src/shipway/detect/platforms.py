"""How other platforms' config files say to start the app, on which port, with which check.

Apps published for Railway, Render, Fly.io, Nixpacks or Google App Engine carry the
start command there, not in a Procfile. Shipway reads those files only when no Procfile
or spec says how to start the web process:

| file | command | port | health check | release |
|---|---|---|---|---|
| railway.json / railway.toml | deploy.startCommand | | deploy.healthcheckPath | deploy.preDeployCommand |
| nixpacks.toml | start.cmd | variables.PORT | | |
| render.yaml | web service startCommand | envVars PORT | healthCheckPath | preDeployCommand |
| fly.toml | processes (the http service's) | internal_port, env.PORT | http_service.checks path | deploy.release_command |
| app.yaml (App Engine) | entrypoint | | | |
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from shipway.detect import files
from shipway.detect.listen import port_number
from shipway.errors import SpecError
from shipway.spec import documents

HEALTHCHECK = re.compile(r"^/\S*$")


@dataclass(frozen=True)
class Hints:
    #: The file the command came from.
    source: str | None = None
    command: str | list[str] | None = None
    port: int | None = None
    port_source: str | None = None
    healthcheck: str | None = None
    release: str | None = None


def read(app_dir: Path) -> Hints:
    """Every platform file's hints; for each, the first file (in the table's order) wins."""
    merged = Hints()
    for name, reader in READERS:
        found = reader(app_dir, name)
        if found is None:
            continue
        updates = {
            f.name: getattr(found, f.name)
            for f in fields(Hints)
            if getattr(merged, f.name) is None and getattr(found, f.name) is not None
        }
        if "command" in updates:
            updates["source"] = name
        merged = replace(merged, **updates)
    return merged


def _hints(name: str, command: Any, port: Any, check: Any, release: Any) -> Hints:
    number = port_number(str(port)) if isinstance(port, int | str) else None
    return Hints(
        command=_command(command),
        port=number,
        port_source=name if number else None,
        healthcheck=check if isinstance(check, str) and HEALTHCHECK.match(check) else None,
        release=_release(release),
    )


def _command(value: Any) -> str | list[str] | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _release(value: Any) -> str | None:
    """A release command; Railway allows a list of commands, run one after the other."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " && ".join(v.strip() for v in value if v.strip()) or None
    return (value.strip() or None) if isinstance(value, str) else None


def _railway(app_dir: Path, name: str) -> Hints | None:
    reader = files.json_file if name.endswith(".json") else files.toml
    data = reader(app_dir, name)
    if data is None:
        return None
    deploy = files.table(data, "deploy")
    return _hints(
        name,
        deploy.get("startCommand"),
        None,
        deploy.get("healthcheckPath"),
        deploy.get("preDeployCommand"),
    )


def _nixpacks(app_dir: Path, name: str) -> Hints | None:
    data = files.toml(app_dir, name)
    if data is None:
        return None
    port = files.table(data, "variables").get("PORT")
    return _hints(name, files.table(data, "start").get("cmd"), port, None, None)


def _render(app_dir: Path, name: str) -> Hints | None:
    data = files.yaml_file(app_dir, name)
    services = data.get("services") if isinstance(data, dict) else None
    webs = [s for s in services or [] if isinstance(s, dict) and s.get("type") == "web"]
    if not webs:
        return None
    web = webs[0]
    env = web.get("envVars")
    env = env if isinstance(env, list) else []
    ports = [v.get("value") for v in env if isinstance(v, dict) and v.get("key") == "PORT"]
    return _hints(
        name,
        web.get("startCommand") or web.get("dockerCommand"),
        ports[0] if ports else None,
        web.get("healthCheckPath"),
        web.get("preDeployCommand"),
    )


def _fly(app_dir: Path, name: str) -> Hints | None:
    data = files.toml(app_dir, name)
    if data is None:
        return None
    http = files.table(data, "http_service")
    services = [s for s in _list(data.get("services")) if isinstance(s, dict)]
    port = http.get("internal_port") or (services[0].get("internal_port") if services else None)
    service_checks = services[0].get("http_checks") if services else None
    checks = [
        check
        for check in [*_list(http.get("checks")), *_list(service_checks)]
        if isinstance(check, dict) and check.get("path")
    ]
    return _hints(
        name,
        _fly_command(data, http),
        port or files.table(data, "env").get("PORT"),
        checks[0].get("path") if checks else None,
        files.table(data, "deploy").get("release_command"),
    )


def _fly_command(data: dict[str, Any], http: dict[str, Any]) -> Any:
    """The command of the process group the HTTP service routes to (default ``app``)."""
    processes = files.table(data, "processes")
    routed = http.get("processes")
    group = routed[0] if isinstance(routed, list) and routed else None
    for candidate in (group, "app", "web"):
        if isinstance(candidate, str) and candidate in processes:
            return processes[candidate]
    if len(processes) == 1:
        return next(iter(processes.values()))
    return files.table(data, "experimental").get("cmd")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _app_engine(app_dir: Path, name: str) -> Hints | None:
    """``app.yaml`` is App Engine's only when it names a Python runtime; else not ours."""
    data = _app_engine_yaml(app_dir, name)
    runtime = data.get("runtime") if isinstance(data, dict) else None
    if not (isinstance(runtime, str) and runtime.startswith("python")):
        return None
    return _hints(name, data.get("entrypoint"), None, None, None)


def app_engine_python(app_dir: Path) -> str | None:
    """App Engine's ``runtime: python313`` as a version (``3.13``); None otherwise."""
    data = _app_engine_yaml(app_dir, "app.yaml")
    runtime = data.get("runtime") if isinstance(data, dict) else None
    match = re.fullmatch(r"python3(\d{1,2})", runtime) if isinstance(runtime, str) else None
    return f"3.{match.group(1)}" if match else None


def _app_engine_yaml(app_dir: Path, name: str) -> Any:
    """The data of ``app.yaml``, which may be another tool's file: one that Shipway cannot
    parse is not App Engine's (but one that links out of the app is still an error)."""
    content = files.text(app_dir, name)
    try:
        return None if content is None else documents.parse_yaml(content, Path(name)).data
    except SpecError:
        return None


Reader = Callable[[Path, str], Hints | None]
READERS: tuple[tuple[str, Reader], ...] = (
    ("railway.json", _railway),
    ("railway.toml", _railway),
    ("nixpacks.toml", _nixpacks),
    ("render.yaml", _render),
    ("fly.toml", _fly),
    ("app.yaml", _app_engine),
)
