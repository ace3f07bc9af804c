"""No input may crash the spec loaders with anything but a one-line ShipwayError."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipway.errors import ShipwayError
from shipway.spec import load_spec
from tests.helpers.appdir import loads_or_fails_in_one_line

FILES = ("shipway.yaml", "Procfile", "app.json", ".cupaas.yml")
KEYS = [
    "name",
    "runtime",
    "port",
    "processes",
    "env",
    "services",
    "addons",
    "replicas",
    "healthcheck",
    "domains",
    "resources",
    "python",
    "entrypoint",
    "formation",
    "web",
    "mongodb",
    "redis",
    "postgresql",
    "command",
    "version",
    "quantity",
    "size",
    "plan",
    "as",
    "generator",
    "value",
    "cpu",
    "memory",
    "storage",
    "release",
    "worker",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-2, 70000)
    | st.floats(allow_nan=False)
    | st.sampled_from(
        [
            "python",
            "3.12",
            "python:3.8.6",
            "web",
            "mongodb",
            "1Gi",
            "heroku-redis:mini",
            "gunicorn app:app",
            "a b",
            "",
        ]
    )
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
FUZZ = settings(
    max_examples=int(os.environ.get("SHIPWAY_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(st.sampled_from(FILES), st.text(max_size=300))
def test_any_text(file: str, text: str) -> None:
    loads_or_fails_in_one_line({file: text})


@FUZZ
@given(st.sampled_from(FILES), st.binary(max_size=200))
def test_any_bytes(file: str, data: bytes) -> None:
    loads_or_fails_in_one_line({file: data})


@FUZZ
@given(documents)
def test_structured_shipway_yaml(doc: dict) -> None:
    loads_or_fails_in_one_line({"shipway.yaml": yaml.safe_dump(doc)})


@FUZZ
@given(documents)
def test_structured_cupaas(doc: dict) -> None:
    loads_or_fails_in_one_line({".cupaas.yml": yaml.safe_dump(doc)})


@FUZZ
@given(documents)
def test_structured_app_json(doc: dict) -> None:
    loads_or_fails_in_one_line({"app.json": json.dumps(doc)})


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.text(max_size=8), st.sampled_from([":", ": ", " ", "="]), st.text(max_size=20)
        ),
        max_size=6,
    )
)
def test_procfile_lines(lines: list[tuple[str, str, str]]) -> None:
    loads_or_fails_in_one_line({"Procfile": "\n".join("".join(parts) for parts in lines)})


@FUZZ
@given(documents, documents)
def test_two_formats_together(a: dict, b: dict) -> None:
    loads_or_fails_in_one_line({"shipway.yaml": yaml.safe_dump(a), "app.json": json.dumps(b)})


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    app = tmp_path / "deep"
    app.mkdir()
    (app / "shipway.yaml").write_text("a: " + "[" * 5000 + "]" * 5000)
    try:
        load_spec(app)
    except ShipwayError as exc:
        assert "\n" not in str(exc)
