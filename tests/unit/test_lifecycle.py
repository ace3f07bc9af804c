"""The lifecycle verbs' pure parts: addons named on the command line, and how addons made
with addons:create join what the app's files declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.errors import ShipwayError, SpecError
from shipway.lifecycle import parse_addon
from shipway.spec import load_sourced
from shipway.spec.model import Service
from shipway.spec.overlay import with_added_addons


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("postgresql", "postgresql", {}),
        ("postgresql:15", "postgresql", {"version": "15"}),
        ("heroku-postgresql", "postgresql", {}),
        ("heroku-postgresql:essential-0", "postgresql", {}),  # a plan, not a version
        ("heroku-redis:mini", "redis", {}),
        ("redis:7.0", "redis", {"version": "7.0"}),
        ("mongolab", "mongodb", {}),
    ],
)
def test_addon_names_as_heroku_users_type_them(
    text: str, kind: str, fields: dict[str, str]
) -> None:
    request = parse_addon(text)
    assert request.kind == kind
    assert request.service.model_dump(exclude_unset=True) == fields


def test_addon_options_are_kept_as_given() -> None:
    request = parse_addon("postgresql:16", storage="5Gi", env_var="PG_URL")
    assert request.service.model_dump(exclude_unset=True) == {
        "version": "16",
        "storage": "5Gi",
        "env_var": "PG_URL",
    }


@pytest.mark.parametrize(
    ("text", "storage", "message"),
    [
        ("mysql", None, "unknown addon 'mysql'; use one of mongodb, postgresql, redis"),
        ("postgresql:1 5", None, "addon 'postgresql:1 5': version"),
        ("redis", "lots", "addon 'redis': storage"),
    ],
)
def test_bad_addons_are_one_line_errors(text: str, storage: str | None, message: str) -> None:
    with pytest.raises(ShipwayError) as caught:
        parse_addon(text, storage=storage)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def _app(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_an_addon_made_from_the_cli_joins_the_files(tmp_path: Path) -> None:
    app = _app(tmp_path, {"shipway.yaml": "name: notes\nservices:\n  redis: '7.0'\n"})
    spec, sources = load_sourced(app)
    added = {"postgresql": Service.model_validate({"version": "15"})}
    merged = with_added_addons(spec, added, sources)
    assert sorted(merged.services) == ["postgresql", "redis"]
    assert merged.services["postgresql"].version == "15"
    assert merged.services["redis"].version == "7.0"


def test_the_same_addon_in_both_places_agrees_field_by_field(tmp_path: Path) -> None:
    app = _app(tmp_path, {"app.json": '{"addons": ["heroku-postgresql"]}'})
    spec, sources = load_sourced(app)
    added = {"postgresql": Service.model_validate({"version": "15", "storage": "2Gi"})}
    merged = with_added_addons(spec, added, sources)
    assert merged.services["postgresql"].version == "15"
    assert merged.services["postgresql"].storage == "2Gi"


def test_a_clash_names_the_file_line_field_and_both_values(tmp_path: Path) -> None:
    app = _app(tmp_path, {"shipway.yaml": "name: notes\nservices:\n  postgresql: '14'\n"})
    spec, sources = load_sourced(app)
    added = {"postgresql": Service.model_validate({"version": "15"})}
    with pytest.raises(SpecError) as caught:
        with_added_addons(spec, added, sources)
    assert str(caught.value) == (
        "shipway.yaml:3: services.postgresql.version: is '14' here but "
        "`shipway addons:create` set '15'; keep the setting in one place: remove it from "
        "the file, or run addons:destroy and addons:create postgresql again"
    )
