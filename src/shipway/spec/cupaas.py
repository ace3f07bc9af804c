"""The seed article's ``.cupaas.yml``: ``runtime``, ``entrypoint`` and ``services``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.spec.collect import Collector, command_value, load_mapping, runtime, services
from shipway.spec.partial import Partial

FILENAMES = (".cupaas.yml", ".cupaas.yaml")


def load(app_dir: Path, name: str) -> Partial:
    handlers = {"runtime": runtime, "entrypoint": _entrypoint, "services": services}
    return load_mapping(app_dir, name, handlers, "see the seed article's example")


def _entrypoint(col: Collector, key: str, value: Any) -> None:
    command = command_value(value)
    if command is None:
        raise col.error(
            key,
            "must be a command string or a list of strings",
            "write e.g. '[python, app.py]'",
            key,
        )
    col.put(("processes", "web", "command"), command, key)
