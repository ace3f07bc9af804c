"""Helpers the loaders share: turning values from a document into sourced fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipway.errors import Location, SpecError, excerpt
from shipway.spec import documents
from shipway.spec.documents import Document
from shipway.spec.partial import FieldPath, Partial, Sourced


class Collector:
    """Accumulates the fields one document gives, each with its line."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.fields: Partial = {}

    def put(self, field: FieldPath, value: Any, *at: str | int) -> None:
        self.fields[field] = Sourced(value, self.doc.at(*at))

    def put_tree(self, field: FieldPath, value: Any, *at: str | int) -> None:
        """Flatten a mapping into one field per leaf; lists and scalars are leaves."""
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                self.put_tree((*field, str(key)), sub, *at, key)
        else:
            self.put(field, value, *at)

    def error(self, field: str, problem: str, fix: str, *at: str | int) -> SpecError:
        return SpecError(self.doc.at(*at), field, problem, fix)


def scalar_text(value: Any) -> str | None:
    """YAML scalars as the strings a config var or version must be (``true`` → ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def command_value(value: Any) -> str | list[str] | None:
    """A command as a shell string or an exec-form list of strings; ``None`` if neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        parts = [scalar_text(part) for part in value]
        if all(part is not None for part in parts):
            return [part for part in parts if part is not None]
    return None


RUNTIME = re.compile(r"^(?P<lang>[a-zA-Z]+)?[-:@ ]?(?P<version>\d[\w.]*)?$")


def parse_runtime(text: str, where: Location, field: str) -> dict[str, str]:
    """``python``, ``python-3.12``, ``python:3.8.6``, ``python3.11`` or ``3.12``."""
    match = RUNTIME.match(text.strip())
    lang = (match.group("lang") or "python").lower() if match else None
    if match is None or lang != "python" or not (match.group("lang") or match.group("version")):
        raise SpecError(
            where,
            field,
            f"runtime '{excerpt(text)}' is not supported",
            "Shipway builds Python apps: write 'python' or 'python-3.12'",
        )
    version = match.group("version")
    return {"language": "python", **({"version": version} if version else {})}


def addon_entries(value: Any, col: Collector, key: str) -> None:
    """Services as a mapping (``mongodb: "6.0"``), or a list (``[mongodb, {redis: 7}]``)."""
    items: list[tuple[Any, Any, tuple[str | int, ...]]] = []
    if isinstance(value, dict):
        items = [(k, v, (key, k)) for k, v in value.items()]
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            if isinstance(entry, dict) and len(entry) == 1:
                ((k, v),) = entry.items()
                items.append((k, v, (key, index, k)))
            elif isinstance(entry, str):
                items.append((entry, None, (key, index)))
            else:
                raise col.error(
                    f"{key}[{index}]",
                    "each entry must be an addon name or 'name: version'",
                    "write e.g. '- mongodb: \"6.0\"'",
                    key,
                    index,
                )
    elif value is not None:
        raise col.error(
            key,
            "must be a mapping or a list of addons",
            "write e.g. 'services: {mongodb: \"6.0\"}'",
            key,
        )
    for kind, spec, at in items:
        addon_entry(str(kind), spec, col, at)


def addon_entry(kind: str, spec: Any, col: Collector, at: tuple[str | int, ...]) -> None:
    field: FieldPath = ("services", kind)
    version = scalar_text(spec)
    if spec is None:
        col.put(field, {}, *at)
    elif version is not None:
        col.put((*field, "version"), version, *at)
    elif isinstance(spec, dict):
        col.put(field, {}, *at)
        for sub, value in spec.items():
            text = scalar_text(value)
            col.put((*field, str(sub)), text if text is not None else value, *at, sub)
    else:
        raise col.error(
            f"services.{kind}",
            "must be a version or a mapping",
            "write e.g. 'mongodb: \"6.0\"'",
            *at,
        )


Handler = Callable[["Collector", str, Any], None]


def load_mapping(app_dir: Path, name: str, handlers: Mapping[str, Handler], hint: str) -> Partial:
    """Load a YAML mapping, giving each top-level key to its handler (others kept as is)."""
    doc = documents.load(app_dir, name, documents.parse_yaml)
    if doc is None or doc.data is None:
        return {}
    col = Collector(doc)
    if not isinstance(doc.data, dict):
        raise col.error("", "the file must be a mapping of settings", hint)
    for key, value in doc.data.items():
        handlers.get(str(key), as_is)(col, str(key), value)
    return col.fields


def as_is(col: Collector, key: str, value: Any) -> None:
    col.put_tree((key,), value, key)


def runtime(col: Collector, key: str, value: Any) -> None:
    text = scalar_text(value)
    if text is None:
        raise col.error(key, "must be a string", "write e.g. 'runtime: python-3.12'", key)
    for sub, part in parse_runtime(text, col.doc.at(key), key).items():
        col.put(("runtime", sub), part, key)


def services(col: Collector, key: str, value: Any) -> None:
    addon_entries(value, col, key)
