"""The deploy queue's rules, run warm in a thread pool of the server's process.

- One deploy at a time per app, in the order they came (and inside the app's lock, which
  config changes and rollbacks take too).
- At most ``max_builds`` deploys at once, all apps together.
- At most ``queue_size`` deploys waiting: one more is refused (``Busy``, a 429).
- A webhook deploy supersedes the webhook deploys of its app still waiting: they end
  ``aborted``, naming the newer one. A watched deploy (an upload, a git push: someone
  follows its stream) is never superseded; it waits its turn.
- A deploy is taken by turning its row from ``queued`` to ``started`` in one UPDATE, and
  not while its app has one ``started``: the database says who runs what.

Sources live on this process's disk, so a process only starts the deploys it received.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shipway import access
from shipway.db.models import App, Deploy, utcnow
from shipway.errors import Busy, ShipwayError
from shipway.queue import records
from shipway.queue.recorder import Recorder

log = logging.getLogger("shipway.queue")

#: Sources whose deploys someone is watching: a newer one never supersedes them.
WATCHED = ("upload", "git", "dashboard")
SOURCES = (*WATCHED, "webhook")


@dataclass(frozen=True)
class Request:
    app: str
    source: str  # upload, git, dashboard (a redeploy), webhook
    by: str  # the actor's email: the releases' author
    work_dir: Path  # the unpacked sources; removed when the deploy ends
    force: bool = False
    commit: str | None = None
    received_at: datetime | None = None


#: Runs one deploy, reporting to the recorder; the outcome for the ``end`` event
#: (release, url, image, description, changed, warnings).
Runner = Callable[[Request, Recorder], dict[str, Any]]
Lock = Callable[[str], AbstractContextManager[None]]
#: Rolls back an app a deploy was cut short in; the version rolled back to, if any.
Recover = Callable[[str, Recorder], int | None]


def _no_lock(_app: str) -> AbstractContextManager[None]:
    return nullcontext()


@dataclass
class Queue:
    sessions: sessionmaker[Session]
    run: Runner
    max_builds: int = 1
    queue_size: int = 32
    lock: Lock = _no_lock
    #: Called with a deploy's id after each event it gets (wakes its subscribers).
    notify: Callable[[int], None] = lambda _id: None
    _requests: dict[int, Request] = field(default_factory=dict)
    _running: set[str] = field(default_factory=set)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(self.max_builds, thread_name_prefix="deploy")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def enqueue(self, request: Request) -> Deploy:
        """Record a deploy as queued (or refuse it: ``Busy``), and start what may start."""
        if request.source not in SOURCES:
            raise ShipwayError(f"unknown deploy source {request.source[:20]}")
        with self.session() as session:
            older = self._superseded(session, request)
            if records.waiting(session) - len(older) >= self.queue_size:
                raise Busy(f"the deploy queue is full ({self.queue_size} waiting); try again later")
            deploy = records.create(
                session, request.app, request.source, request.by, request.commit,
                request.received_at,
            )  # fmt: skip
            for old in older:
                records.end(session, old, "aborted", f"superseded by deploy {deploy.id}", {})
        with self._guard:
            self._requests[deploy.id] = request
            dropped = [self._requests.pop(old.id, None) for old in older]
        for gone in [deploy, *older]:
            self.notify(gone.id)
        for dropped_request in dropped:
            if dropped_request is not None:
                shutil.rmtree(dropped_request.work_dir, ignore_errors=True)
        self.dispatch()
        return deploy

    def _superseded(self, session: Session, request: Request) -> list[Deploy]:
        if request.source in WATCHED:
            return []
        return list(
            session.scalars(
                select(Deploy).where(
                    Deploy.app == request.app,
                    Deploy.status == records.WAITING,
                    Deploy.source == request.source,
                )
            )
        )

    def dispatch(self) -> None:
        """Start waiting deploys while a build slot is free and their app is idle."""
        with self._guard:
            while len(self._running) < self.max_builds:
                claimed = self._claim()
                if claimed is None:
                    return
                self._running.add(claimed[1].app)
                self._pool.submit(self._work, *claimed)

    def _claim(self) -> tuple[int, Request] | None:
        with self.session() as session:
            candidates = session.scalars(
                select(Deploy)
                .where(Deploy.status == records.WAITING, Deploy.id.in_(list(self._requests)))
                .order_by(Deploy.id)
            )
            for deploy in candidates:
                if deploy.app in self._running or not self._app_idle(session, deploy.app):
                    continue
                taken = session.execute(
                    update(Deploy)
                    .where(Deploy.id == deploy.id, Deploy.status == records.WAITING)
                    .values(status=records.RUNNING, started_at=utcnow())
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    return deploy.id, self._requests.pop(deploy.id)
        return None

    @staticmethod
    def _app_idle(session: Session, app: str) -> bool:
        """Whether no replica runs a deploy of ``app``, asked holding the app's row
        (``FOR UPDATE`` on PostgreSQL; SQLite has one writer): two replicas never both
        start one of the same app."""
        session.execute(select(App.name).where(App.name == app).with_for_update())
        running = select(Deploy.id).where(Deploy.app == app, Deploy.status == records.RUNNING)
        return session.scalar(running.limit(1)) is None

    def _work(self, deploy_id: int, request: Request) -> None:
        self.notify(deploy_id)
        recorder = Recorder(self.sessions, deploy_id, self.notify)
        author = access.AUTHOR.set(request.by)
        try:
            with self.lock(request.app):
                result = self.run(request, recorder)
            recorder.end("finished", None, result)
        except ShipwayError as exc:
            back = getattr(exc, "rolled_back_to", None)
            recorder.end("failed", str(exc), {"rolled_back_to": back})
        except Exception:
            log.exception("deploy %s of %s failed unexpectedly", deploy_id, request.app)
            recorder.end("failed", "internal error (the server's log has the details)", {})
        finally:
            access.AUTHOR.reset(author)
            shutil.rmtree(request.work_dir, ignore_errors=True)
            with self._guard:
                self._running.discard(request.app)
            self.dispatch()

    def recover(self, roll_back: Recover) -> list[int]:
        """After a restart: every deploy a previous process left queued or started ends
        ``aborted``; an app a deploy had started changing is rolled back (in the pool,
        before any new deploy of it). The ids of the deploys ended."""
        reason = "the server restarted"
        to_roll_back: list[tuple[int, str]] = []
        with self.session() as session:
            stale = session.scalars(
                select(Deploy).where(Deploy.status.in_([records.WAITING, records.RUNNING]))
            ).all()
            for deploy in stale:
                if deploy.status == records.RUNNING and deploy.applied:
                    # Ended once the rollback is done: its stream shows the rollback.
                    to_roll_back.append((deploy.id, deploy.app))
                    deploy.status, deploy.reason = "aborted", reason
                    records.close_steps(session, deploy.id, "aborted")
                else:
                    records.end(session, deploy, "aborted", reason, {})
        with self._guard:
            for _id, app in to_roll_back:
                self._running.add(app)
        for deploy_id, app in to_roll_back:
            self._pool.submit(self._roll_back, deploy_id, app, roll_back)
        return [d.id for d in stale]

    def _roll_back(self, deploy_id: int, app: str, roll_back: Recover) -> None:
        recorder = Recorder(self.sessions, deploy_id, self.notify)
        recorder.step("the server restarted in the middle of this deploy: rolling the app back")
        reason = "the server restarted"
        try:
            with self.lock(app):
                back = roll_back(app, recorder)
            if back is not None:
                reason = f"{reason}; rolled back to v{back}"
            recorder.end("aborted", reason, {"rolled_back_to": back})
        except Exception as exc:
            log.exception("rolling back %s after a restart failed", app)
            message = str(exc) if isinstance(exc, ShipwayError) else "internal error"
            recorder.end("aborted", f"{reason}; the rollback failed: {message}", {})
        finally:
            with self._guard:
                self._running.discard(app)
            self.dispatch()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
