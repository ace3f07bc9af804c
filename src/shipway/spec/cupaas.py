"""The seed article's ``.cupaas.yml``: ``runtime``, ``entrypoint`` and ``services``."""

from __future__ import annotations

from pathlib import Path

from shipway.spec import yamlfile
from shipway.spec.collect import (
    Collector,
    addon_entries,
    command_value,
    parse_runtime,
    scalar_text,
)
from shipway.spec.partial import Partial

FILENAMES = (".cupaas.yml", ".cupaas.yaml")


def load(file: Path) -> Partial:
    doc = yamlfile.load(file)
    col = Collector(doc)
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise col.error("", "the file must be a mapping", "see the seed article's example")
    for raw_key, value in doc.data.items():
        key = str(raw_key)
        if key == "runtime":
            text = scalar_text(value)
            if text is None:
                raise col.error(key, "must be a string", "write e.g. 'python:3.8.6'", key)
            for sub, part in parse_runtime(text, doc.at(key), key).items():
                col.put(("runtime", sub), part, key)
        elif key == "entrypoint":
            command = command_value(value)
            if command is None:
                raise col.error(
                    key,
                    "must be a command string or a list of strings",
                    "write e.g. '[python, app.py]'",
                    key,
                )
            col.put(("processes", "web", "command"), command, key)
        elif key == "services":
            addon_entries(value, col, key)
        else:
            col.put_tree((key,), value, key)
    return col.fields
