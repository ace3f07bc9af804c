"""Review app names: ``<app>-pr-<n>`` while it fits, else cut with a hash; always a valid
app name, never the same for two parents or two requests."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipway.reviewapps import name_for, parent_of
from shipway.spec.model import APP_NAME_MAX, DNS_LABEL

app_names = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?\Z")


def test_a_short_name_is_plain() -> None:
    assert name_for("tasks", 7) == "tasks-pr-7"
    assert parent_of("tasks-pr-7", 7, ["notes", "tasks"]) == "tasks"
    assert parent_of("tasks-pr-7", 8, ["tasks"]) is None


def test_a_long_name_is_cut_with_a_hash() -> None:
    parent = "a-very-long-application-name-for-tests"  # 38 characters
    name = name_for(parent, 12345)
    assert len(name) <= APP_NAME_MAX and name.endswith("-pr-12345")
    assert re.fullmatch(r"a-very-long-application-[0-9a-f]{6}-pr-12345", name)
    with pytest.raises(ValueError):
        name_for("tasks", 0)


@given(app_names, app_names, st.integers(1, 10**9), st.integers(1, 10**9))
def test_names_are_valid_and_distinct(a: str, b: str, m: int, n: int) -> None:
    for parent, number in [(a, m), (b, n)]:
        name = name_for(parent, number)
        assert re.match(DNS_LABEL, name) and len(name) <= APP_NAME_MAX
    if (a, m) != (b, n):
        assert name_for(a, m) != name_for(b, n)
