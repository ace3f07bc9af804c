"""Fixtures the unit tests share."""

from tests.helpers.fake_registry import serve  # noqa: F401  (a fixture: a registry on 127.0.0.1)
