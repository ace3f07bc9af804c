"""Heroku's ``app.json``: config vars, addons and the formation (process counts, sizes)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from shipway.errors import SpecError, excerpt
from shipway.spec import appfile, documents
from shipway.spec.collect import Collector, scalar_text
from shipway.spec.documents import Shape
from shipway.spec.model import ADDON_KINDS, MAX_REPLICAS
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


#: The fields of Heroku's app.json schema Shipway reads, and their types.
SHAPE: Shape = {
    ("name",): (str, "a string"),
    ("env",): (dict, "an object of config vars"),
    ("env", "*", "generator"): (str, "a string"),
    ("env", "*", "required"): (bool, "true or false"),
    ("addons",): (list, "a list"),
    ("formation",): (dict, "an object of process types"),
    ("formation", "*"): (dict, "an object"),
    ("formation", "*", "size"): (str, "a dyno size"),
}
SCHEMA = "see Heroku's app.json schema"
QUANTITY = 'write e.g. {"quantity": 2}'


def load(app_dir: Path, name: str) -> Partial:
    doc = _parse(app_dir, name)
    col = Collector(doc)
    data = doc.data
    if "env" in data:
        _env(col, data["env"])
    if "addons" in data:
        _addons(col, data["addons"])
    if "formation" in data:
        _formation(col, data["formation"])
    return col.fields


def display_name(app_dir: Path) -> str | None:
    """app.json's free-text ``name``, which can become the app name when nothing sets one
    (``load`` has checked the file)."""
    data = documents.parse_json(_text(app_dir, FILENAME), app_dir / FILENAME).data
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _parse(app_dir: Path, name: str) -> documents.Document:
    file = app_dir / name
    text = _text(app_dir, name)
    doc = documents.parse_json(text, file)
    try:  # JSON is YAML: reading it again as YAML gives us line numbers
        as_yaml = documents.parse_yaml(text, file)
        doc = as_yaml if as_yaml.data == doc.data else doc
    except SpecError:
        pass
    if not isinstance(doc.data, dict):
        raise SpecError(doc.at(), None, "must be a JSON object", SCHEMA)
    documents.check_shape(doc, SHAPE, SCHEMA)
    return doc


def _text(app_dir: Path, name: str) -> str:
    return appfile.read_text(app_dir, name) or "{}"


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


def _addons(col: Collector, addons: list[Any]) -> None:
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
                f"unknown addon '{excerpt(service)}'",
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


def _formation(col: Collector, formation: dict[str, dict[str, Any]]) -> None:
    for name, spec in formation.items():
        at = ("formation", name)
        if "quantity" in spec:
            quantity = spec["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                raise col.error(
                    f"formation.{name}.quantity",
                    "must be a whole number",
                    QUANTITY,
                    *at,
                    "quantity",
                )
            if not 0 <= quantity <= MAX_REPLICAS:
                raise col.error(
                    f"formation.{name}.quantity",
                    f"must be from 0 to {MAX_REPLICAS}",
                    QUANTITY,
                    *at,
                    "quantity",
                )
            col.put(("processes", str(name), "replicas"), quantity, *at, "quantity")
        size = spec.get("size")
        if size is not None:
            memory = DYNO_MEMORY.get(size.lower())
            if memory is None:
                raise col.error(
                    f"formation.{name}.size",
                    f"unknown dyno size '{excerpt(size)}'",
                    f"use one of {', '.join(DYNO_MEMORY)}",
                    *at,
                    "size",
                )
            col.put(("processes", str(name), "resources", "memory"), memory, *at, "size")
