"""Server-sent events of a deploy: replayed from the database after ``Last-Event-ID``,
then live. The worker threads wake subscribers of this process through ``Notifier``;
a subscriber also reads the database every ``POLL`` seconds, so a deploy another
replica runs streams too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from anyio import to_thread

#: Seconds between reads of the database when nothing woke the stream.
POLL = 1.0
#: Seconds between comments that keep an idle connection open through proxies.
KEEPALIVE = 15.0


class Notifier:
    """Wakes the event loops waiting for a deploy's next events, from any thread."""

    def __init__(self) -> None:
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def register(self, deploy_id: int) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(deploy_id, set()).add(waiter)
        return waiter

    def unregister(
        self, deploy_id: int, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]
    ) -> None:
        with self._lock:
            waiting = self._waiters.get(deploy_id, set())
            waiting.discard(waiter)
            if not waiting:
                self._waiters.pop(deploy_id, None)

    def notify(self, deploy_id: int) -> None:
        with self._lock:
            waiters = list(self._waiters.get(deploy_id, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(event.set)


def message(seq: int, kind: str, data: dict[str, Any]) -> bytes:
    return f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data)}\n\n".encode()


#: Reads the events after a sequence number: (seq, kind, data), oldest first.
Reader = Callable[[int], list[tuple[int, str, dict[str, Any]]]]


async def stream(
    notifier: Notifier, deploy_id: int, after: int, read: Reader
) -> AsyncIterator[bytes]:
    """The events after ``after`` as server-sent events, live, until the ``end`` event."""
    async for event in follow(notifier, deploy_id, after, read):
        yield b": still working\n\n" if event is None else message(*event)


async def follow(
    notifier: Notifier, deploy_id: int, after: int, read: Reader
) -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
    """The events after ``after``, live, until the ``end`` event; None every
    ``KEEPALIVE`` seconds without one."""
    last = after
    quiet = 0.0
    waiter = notifier.register(deploy_id)
    try:
        while True:
            waiter[1].clear()  # before reading: a wake-up during the read is kept
            events = await to_thread.run_sync(read, last)
            for seq, kind, data in events:
                yield seq, kind, data
                last = seq
                if kind == "end":
                    return
            if events:
                quiet = 0.0
                continue
            try:
                await asyncio.wait_for(waiter[1].wait(), POLL)
            except TimeoutError:
                quiet += POLL
                if quiet >= KEEPALIVE:
                    quiet = 0.0
                    yield None
    finally:
        notifier.unregister(deploy_id, waiter)
