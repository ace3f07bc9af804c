"""Opening the database: SQLite in the state directory by default (WAL, one server
replica), PostgreSQL for several; the schema is brought up to date by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from shipway.errors import ShipwayError

MIGRATIONS = Path(__file__).parent / "migrations"


def url_for(database: str | None, state_dir: Path) -> str:
    """The SQLAlchemy URL of ``--database`` (a ``postgresql://`` URL), or of the SQLite
    file in ``state_dir``."""
    if not database:
        return f"sqlite:///{state_dir / 'shipway.db'}"
    scheme, sep, rest = database.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg", "sqlite"):
        raise ShipwayError(
            "--database: write postgresql://USER:PASSWORD@HOST/NAME (or leave it out for "
            "SQLite in the state directory)"
        )
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return database


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers (event streams, lists) run beside the one writer; foreign keys are
    # off by default in SQLite, and cascades need them.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
