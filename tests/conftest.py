from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.postgres import Postgres, running_postgres
from tests.helpers.server import RunningServer, running_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test keeps generated credentials in a private, empty state directory."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("SHIPWAY_STATE_DIR", str(path))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/unit are unit tests unless they say otherwise."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in {"unit", "integration", "e2e"} and not any(
            item.get_closest_marker(m) for m in ("unit", "integration", "e2e")
        ):
            item.add_marker(getattr(pytest.mark, tier))


#: The databases the server's API tests run against, each test module once per backend.
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One real PostgreSQL for the session (Debian's binaries, on 127.0.0.1)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def databases(backend: str, request: pytest.FixtureRequest) -> Callable[[], str | None]:
    """Makes a fresh database of the module's backend for a server: None for SQLite (a
    file in the server's state directory), else the URL of a new PostgreSQL database."""
    if backend == "sqlite":
        return lambda: None
    server: Postgres = request.getfixturevalue("postgres")
    return server.create_database


@pytest.fixture(scope="module")
def backend_server(
    databases: Callable[[], str | None], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real server on the module's database backend, shared by the module's tests."""
    with running_server(tmp_path_factory.mktemp("server"), databases()) as running:
        yield running
