"""Direct access to a test server's database, for the faults a test cannot wait for (a
token or an invite past its expiry) and for reading what the API never shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from shipway.db.engine import open_engine, sessions, url_for
from tests.helpers.server import RunningServer


@contextmanager
def database_of(server: RunningServer) -> Iterator[Session]:
    """A transaction on the server's database (SQLite file or PostgreSQL), committed at
    the end of the block."""
    engine = open_engine(url_for(server.database, server.state_dir))
    try:
        with sessions(engine).begin() as session:
            yield session
    finally:
        engine.dispose()
