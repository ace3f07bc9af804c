"""The verb table: one route per verb, requests the server can validate strictly, and
audit records without secret values."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

import pytest
from pydantic import TypeAdapter, ValidationError

from shipway.errors import ShipwayError
from shipway.ops import apps, lifecycle
from shipway.ops.table import VERBS, audited

assert apps and lifecycle  # they register the verbs

QUERY_TYPES = {bool, int, str, bool | None, int | None, str | None}


def test_every_verb_has_its_own_route() -> None:
    routes = [(v.method, v.path) for v in VERBS.values()]
    assert len(routes) == len(set(routes)), routes
    assert all(v.method in {"GET", "POST", "PUT", "PATCH", "DELETE"} for v in VERBS.values())


@pytest.mark.parametrize("name", sorted(VERBS))
def test_read_verbs_take_only_what_a_query_string_carries(name: str) -> None:
    verb = VERBS[name]
    if verb.method != "GET":
        assert verb.changes
        return
    hints = get_type_hints(verb.request)
    assert {hints[f.name] for f in dataclasses.fields(verb.request)} <= QUERY_TYPES


@pytest.mark.parametrize("name", sorted(VERBS))
def test_requests_refuse_unknown_fields(name: str) -> None:
    with pytest.raises(ValidationError, match="Unexpected keyword argument"):
        TypeAdapter(VERBS[name].request).validate_python({"surprise": 1})


def test_config_changes_are_audited_by_name_only() -> None:
    change = apps.ConfigChange({"DATABASE_PASSWORD": "s3cret-value", "OLD": None})
    assert audited(change) == {"set": ["DATABASE_PASSWORD"], "unset": ["OLD"]}
    assert "s3cret-value" not in repr(audited(change))


def test_run_is_audited_without_its_arguments() -> None:
    command = apps.Command(["sh", "-c", "curl -H 'Authorization: hunter2' x"])
    assert audited(command) == {"program": "sh", "arguments": 2}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: apps.ConfigChange({}), "give 1 to 200 config vars"),
        (lambda: apps.ConfigChange({"BIG": "x" * 40_000}), "keep values under 32 KiB"),
        (lambda: apps.Formation({"web": 101}), "use 0 to 100 pods"),
        (lambda: apps.Formation({}), "at least one process=COUNT"),
        (lambda: apps.Command([]), "give a command to run"),
    ],
)
def test_bounded_requests(build: Any, message: str) -> None:
    with pytest.raises(ShipwayError, match=message):
        build()
