"""Fixtures the unit tests share."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from shipway.db.engine import migrate, open_engine, sessions
from tests.helpers.fake_registry import serve  # noqa: F401  (a fixture: a registry on 127.0.0.1)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A transaction on a new server database (SQLite, migrated), committed at the end."""
    engine = open_engine(f"sqlite:///{tmp_path / 'shipway.db'}")
    migrate(engine)
    with sessions(engine).begin() as opened:
        yield opened
    engine.dispose()
