"""``shipway.yaml``: Shipway's own app description (reference in the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.spec.collect import (
    Collector,
    command_value,
    load_mapping,
    runtime,
    scalar_text,
    services,
)
from shipway.spec.partial import Partial

FILENAMES = ("shipway.yaml", "shipway.yml")


def load(app_dir: Path, name: str) -> Partial:
    return load_mapping(app_dir, name, HANDLERS, "start with 'name: <app-name>'")


def _runtime(col: Collector, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        runtime(col, key, value)
        return
    text = scalar_text(value.get("version"))
    col.put_tree((key,), {**value, "version": text} if text is not None else value, key)


def _processes(col: Collector, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise col.error(
            key,
            "must be a mapping of process type to command",
            "write e.g. 'processes: {web: gunicorn app:app}'",
            key,
        )
    for name, spec in value.items():
        command = command_value(spec)
        if command is not None:
            col.put((key, str(name), "command"), command, key, name)
        elif isinstance(spec, dict):
            fields = dict(spec)
            if "command" in fields:
                fields["command"] = command_value(fields["command"]) or fields["command"]
            col.put_tree((key, str(name)), fields, key, name)
        else:
            raise col.error(
                f"{key}.{name}",
                "must be a command or a mapping",
                "write e.g. 'web: gunicorn app:app'",
                key,
                name,
            )


def _replicas(col: Collector, key: str, value: Any) -> None:
    col.put(("processes", "web", "replicas"), value, key)


def _env(col: Collector, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise col.error(
            key, "must be a mapping of NAME: value", "write e.g. 'env: {LOG_LEVEL: info}'", key
        )
    for name, raw in value.items():
        text = scalar_text(raw)
        if text is None:
            raise col.error(
                f"env.{name}",
                "has no plain value",
                "give it a string value, or remove it",
                key,
                name,
            )
        col.put((key, str(name)), text, key, name)


def _healthcheck(col: Collector, key: str, value: Any) -> None:
    path = value.get("path") if isinstance(value, dict) else value
    col.put((key,), path, key)


def _domains(col: Collector, key: str, value: Any) -> None:
    col.put((key,), [value] if isinstance(value, str) else value, key)


def _python_version(col: Collector, key: str, value: Any) -> None:
    col.put(("runtime", "version"), scalar_text(value), key)


HANDLERS = {
    "runtime": _runtime,
    "python": _python_version,
    "processes": _processes,
    "replicas": _replicas,
    "env": _env,
    "services": services,
    "addons": services,
    "healthcheck": _healthcheck,
    "domains": _domains,
}
