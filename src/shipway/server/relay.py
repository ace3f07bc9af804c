"""Items handed from a worker thread (a verb that streams, blocking on the cluster) to
the async response that sends them, with back-pressure both ways: a slow client slows
the worker, and a client that leaves stops it at its next item."""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread

_NOTHING_YET = object()


class ClientGone(Exception):
    """The client went away: the worker should stop."""


class Relay:
    def __init__(self, size: int = 1000):
        self._items: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._gone = threading.Event()

    def put(self, item: Any) -> None:
        """Hand over ``item`` (None: the end); raises ``ClientGone`` once nobody listens."""
        while not self._gone.is_set():
            try:
                self._items.put(item, timeout=1)
                return
            except queue.Full:
                continue
        raise ClientGone

    def _next(self) -> Any:
        # A second at most: a thread cannot be cancelled, so a client that leaves while
        # nothing is said (an idle ``logs -f``) is noticed within a second.
        try:
            return self._items.get(timeout=1)
        except queue.Empty:
            return _NOTHING_YET

    async def items(self) -> AsyncIterator[Any]:
        """What the worker puts, until its None."""
        try:
            while (item := await anyio.to_thread.run_sync(self._next)) is not None:
                if item is not _NOTHING_YET:
                    yield item
        finally:
            self._gone.set()
