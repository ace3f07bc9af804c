"""Heroku's ``app.json``: config vars, addons and the formation (process counts, sizes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shipway.errors import Location, SpecError
from shipway.spec import yamlfile
from shipway.spec.collect import Collector, scalar_text
from shipway.spec.model import ADDON_KINDS
from shipway.spec.partial import Partial

FILENAME = "app.json"

#: Heroku add-on services and the Shipway addon that replaces each.
ADDONS = {
    "heroku-postgresql": "postgresql",
    "heroku-redis": "redis",
    "rediscloud": "redis",
    "redistogo": "redis",
    "mongolab": "mongodb",
    "mongohq": "mongodb",
    "ormongo": "mongodb",
    "objectrocket": "mongodb",
    **{kind: kind for kind in ADDON_KINDS},
}

#: Memory of Heroku dyno sizes, so ``formation.web.size`` keeps its meaning.
DYNO_MEMORY = {
    "eco": "512Mi",
    "basic": "512Mi",
    "free": "512Mi",
    "hobby": "512Mi",
    "standard-1x": "512Mi",
    "standard-2x": "1Gi",
    "performance-m": "2560Mi",
    "performance-l": "14Gi",
}


def load(file: Path) -> Partial:
    doc = _parse(file)
    col = Collector(doc)
    if not isinstance(doc.data, dict):
        raise col.error("", "must be a JSON object", "see Heroku's app.json schema")
    data = doc.data
    if isinstance(data.get("env"), dict):
        _env(col, data["env"])
    if "addons" in data:
        _addons(col, data["addons"])
    if isinstance(data.get("formation"), dict):
        _formation(col, data["formation"])
    return col.fields


def display_name(file: Path) -> str | None:
    """app.json's free-text ``name``, which can become the app name when nothing sets one."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _parse(file: Path) -> yamlfile.Document:
    text = yamlfile.read_text(file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            Location(file, exc.lineno),
            None,
            f"invalid JSON ({exc.msg})",
            "fix the syntax at that line",
        ) from None
    except RecursionError:
        raise SpecError(
            file.name, None, "the document is nested too deeply", "flatten it"
        ) from None
    try:  # JSON is YAML: reading it again as YAML gives us line numbers
        doc = yamlfile.load(file)
        if doc.data == data:
            return doc
    except SpecError:
        pass
    return yamlfile.Document(file, data, {})


def _env(col: Collector, env: dict[str, Any]) -> None:
    for name, spec in env.items():
        at = ("env", name)
        if isinstance(spec, dict):
            if spec.get("generator") == "secret":
                col.put(("generated_env",), [*col_generated(col), name], *at)
                continue
            value = spec.get("value")
            if value is None:
                continue  # Heroku asks for it at deploy time; so does `shipway config:set`
        else:
            value = spec
        text = scalar_text(value)
        if text is None:
            raise col.error(f"env.{name}", "has no plain value", "give it a string 'value'", *at)
        col.put(("env", str(name)), text, *at)


def col_generated(col: Collector) -> list[str]:
    item = col.fields.get(("generated_env",))
    return list(item.value) if item else []


def _addons(col: Collector, addons: Any) -> None:
    if not isinstance(addons, list):
        raise col.error("addons", "must be a list", 'write e.g. ["heroku-postgresql"]', "addons")
    for index, entry in enumerate(addons):
        plan = entry.get("plan") if isinstance(entry, dict) else entry
        alias = entry.get("as") if isinstance(entry, dict) else None
        if not isinstance(plan, str):
            raise col.error(
                f"addons[{index}]",
                "needs a plan name",
                'write e.g. "heroku-redis:mini"',
                "addons",
                index,
            )
        service = plan.split(":", 1)[0]
        kind = ADDONS.get(service)
        if kind is None:
            raise col.error(
                f"addons[{index}]",
                f"unknown addon '{service}'",
                "Shipway provides mongodb, postgresql and redis; remove it",
                "addons",
                index,
            )
        col.put(("services", kind), {}, "addons", index)
        if isinstance(alias, str):
            col.put(("services", kind, "as"), _alias_var(alias), "addons", index)


def _alias_var(alias: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", alias).upper()
    return name if name.endswith("_URL") else f"{name}_URL"


def _formation(col: Collector, formation: dict[str, Any]) -> None:
    for name, spec in formation.items():
        if not isinstance(spec, dict):
            raise col.error(
                f"formation.{name}",
                "must be an object",
                'write e.g. {"quantity": 1}',
                "formation",
                name,
            )
        at = ("formation", name)
        if "quantity" in spec:
            quantity = spec["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                raise col.error(
                    f"formation.{name}.quantity",
                    "must be a whole number",
                    'write e.g. {"quantity": 2}',
                    *at,
                    "quantity",
                )
            col.put(("processes", str(name), "replicas"), quantity, *at, "quantity")
        size = spec.get("size")
        if isinstance(size, str):
            memory = DYNO_MEMORY.get(size.lower())
            if memory is None:
                raise col.error(
                    f"formation.{name}.size",
                    f"unknown dyno size '{size}'",
                    f"use one of {', '.join(DYNO_MEMORY)}",
                    *at,
                    "size",
                )
            col.put(("processes", str(name), "resources", "memory"), memory, *at, "size")
