"""The progress a queued deploy reports to: what a terminal would print becomes the
deploy's log lines and step changes, each written in a short transaction of its own and
announced to the stream's subscribers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shipway.queue import records
from shipway.sources import size_text

#: A log line longer than this is cut (build output can be anything).
MAX_LINE = 2000


class Recorder:
    """A ``Progress`` (``step``, ``transfer``) that also takes the core's step markers
    (``stage``, see ``image.progress.stage``)."""

    def __init__(
        self, sessions: sessionmaker[Session], deploy_id: int, notify: Callable[[int], None]
    ):
        self.sessions, self.deploy_id, self.notify = sessions, deploy_id, notify
        # The core reports from several threads at once (a push's uploads): one write
        # at a time keeps the stream's numbering whole.
        self._lock = threading.Lock()

    def step(self, text: str) -> None:
        self._append("log", {"text": text[:MAX_LINE]})

    def transfer(self, label: str, total: int) -> Callable[[int], None]:
        self._append("log", {"text": f"{label[:MAX_LINE]} ({size_text(total)})"})
        return lambda _n: None

    def stage(self, name: str) -> None:
        with self._lock, self.sessions.begin() as session:
            moved = records.advance(session, self.deploy_id, name)
        if moved:
            self.notify(self.deploy_id)

    def end(self, status: str, reason: str | None, result: dict[str, Any]) -> None:
        with self._lock, self.sessions.begin() as session:
            records.end(session, records.get(session, self.deploy_id), status, reason, result)
        self.notify(self.deploy_id)

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock, self.sessions.begin() as session:
            records.append(session, self.deploy_id, kind, data)
        self.notify(self.deploy_id)
