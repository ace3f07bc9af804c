"""What the server's routes share: the database, the cluster, the per-app locks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shipway import bootstrap, gitrepos, grants, teams
from shipway.db.engine import migrate, open_engine, sessions, url_for
from shipway.kube.client import Client, Target, connect
from shipway.server.settings import ServerSettings


@dataclass
class Server:
    settings: ServerSettings
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    #: App namespaces the in-cluster server has bound itself in (``shipway.grants``).
    _bound: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.engine = open_engine(url_for(self.settings.database, self.settings.state_dir))
        migrate(self.engine)
        self.sessions: sessionmaker[Session] = sessions(self.engine)
        with self.session() as session:  # installed in a cluster: its first admin
            bootstrap.first_admin(session)

    @property
    def git_root(self) -> Path:
        """The apps' repositories that git pushes go to (``/<app>.git``)."""
        return self.settings.state_dir / "git"

    @property
    def upstream_root(self) -> Path:
        """Caches of the repositories webhooks fetch commits from."""
        return self.settings.state_dir / "git-upstream"

    def free_name(self, app: str) -> None:
        """After an app is deleted with its data: no team owns its name any more, and its
        repositories go with it (a new app of that name starts empty)."""
        with self.session() as session:
            teams.release_app(session, app)
        for root in (self.git_root, self.upstream_root):
            gitrepos.remove(root, app)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self.sessions.begin() as session:
            yield session

    @cached_property
    def client(self) -> Client:
        return connect(self.settings.context)

    def target(self, app: str) -> Target:
        if app not in self._bound and grants.ensure(self.client, app):  # in-cluster only
            self._bound.add(app)
        return Target(self.client, app, app)

    @contextmanager
    def app_lock(self, app: str) -> Iterator[None]:
        """One release-making change of an app at a time (deploys, config, rollbacks):
        within this process, and across the replicas sharing a PostgreSQL database (an
        advisory lock, held on a connection of its own for as long as the change runs)."""
        with self._guard:
            lock = self._locks.setdefault(app, threading.Lock())
        with lock:
            if self.engine.dialect.name != "postgresql":
                yield
                return
            key = {"key": f"shipway-app:{app}"}
            with self.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), key)
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
