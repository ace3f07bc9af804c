"""The progress a queued deploy reports to: what a terminal would print becomes the
deploy's log lines and step changes, announced to the stream's subscribers.

The deploy never waits for the database: its reports are queued, with the time they
were made, and a writer thread of the deploy's own stores them in order, all that
queued up in one transaction. ``end`` writes what is left, then the outcome."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shipway.db.models import utcnow
from shipway.queue import records
from shipway.sources import size_text

#: A log line longer than this is cut (build output can be anything).
MAX_LINE = 2000
#: Seconds the writer lets reports gather before storing them: a few transactions a
#: deploy instead of one a line, as the writer shares the process (and its GIL) with
#: the deploy; the stream's subscribers still see each line within this.
GATHER = 0.1

log = logging.getLogger(__name__)

#: A report: when, what ("log" or "stage") and its data (a log line's, a step's name).
Report = tuple[datetime, str, Any]


class Recorder:
    """A ``Progress`` (``step``, ``transfer``) that also takes the core's step markers
    (``stage``, see ``image.progress.stage``)."""

    def __init__(
        self, sessions: sessionmaker[Session], deploy_id: int, notify: Callable[[int], None]
    ):
        self.sessions, self.deploy_id, self.notify = sessions, deploy_id, notify
        # The core reports from several threads at once (a push's uploads): one queue,
        # one writer, keeps the stream's numbering whole and in order.
        self._pending: list[Report] = []
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closed = False

    def step(self, text: str) -> None:
        self._put("log", {"text": text[:MAX_LINE]})

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        self._put("log", {"text": f"{label[:MAX_LINE]} ({size_text(total)})"})
        return lambda _n: None

    def stage(self, name: str) -> None:
        self._put("stage", name)

    def end(self, status: str, reason: str | None, result: dict[str, Any]) -> None:
        """Store the reports still queued, then end the deploy with ``status``."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._writer is not None:
            self._writer.join()
        self._write(self._take())  # reports made after the writer stopped, if any
        with self.sessions.begin() as session:
            records.end(session, records.get(session, self.deploy_id), status, reason, result)
        self.notify(self.deploy_id)

    def _put(self, kind: str, data: Any) -> None:
        with self._wake:
            self._pending.append((utcnow(), kind, data))
            if self._writer is None and not self._closed:
                self._writer = threading.Thread(
                    target=self._run, name=f"deploy-{self.deploy_id}-recorder", daemon=True
                )
                self._writer.start()
            self._wake.notify()

    def _take(self) -> list[Report]:
        with self._wake:
            batch, self._pending = self._pending, []
        return batch

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                if not self._closed:
                    self._wake.wait(GATHER)  # ``end`` cuts it short
            try:
                self._write(self._take())
            except Exception:  # the deploy goes on; its end is written or fails itself
                log.exception("deploy %s: storing its progress failed", self.deploy_id)

    def _write(self, batch: list[Report]) -> None:
        if not batch:
            return
        with self.sessions.begin() as session:
            for at, kind, data in batch:
                if kind == "stage":
                    records.advance(session, self.deploy_id, data, at)
                else:
                    records.append(session, self.deploy_id, kind, data)
        self.notify(self.deploy_id)
