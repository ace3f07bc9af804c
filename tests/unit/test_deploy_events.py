"""A deploy's server-sent events: the server's encoding read back by the CLI's parser,
and the stream generator replaying after an id, then waking on a notification, ending at
``end``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from shipway.cli.remote_deploy import parse
from shipway.server.sse import Notifier, message, stream

pytestmark = pytest.mark.unit


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def test_messages_read_back() -> None:
    sent = [
        (1, "step", {"step": "detect", "status": "started"}),
        (2, "log", {"text": "line one: ü\nwith a newline"}),
        (3, "end", {"status": "finished", "url": "http://x/"}),
    ]
    wire = b"".join(message(*event) for event in sent) + b": a comment\n\n"
    assert list(parse(iter(_lines(wire)))) == sent


def test_a_multi_line_data_field_and_crlf() -> None:
    wire = b'id: 7\r\nevent: log\r\ndata: {"text":\r\ndata: "x"}\r\n\r\n'
    assert list(parse(iter(wire.split(b"\n")))) == [(7, "log", {"text": "x"})]


def test_the_stream_replays_then_waits_then_ends() -> None:
    events: list[tuple[int, str, dict[str, Any]]] = [
        (1, "log", {"text": "a"}),
        (2, "log", {"text": "b"}),
    ]
    lock = threading.Lock()
    notifier = Notifier()

    def read(after: int) -> list[tuple[int, str, dict[str, Any]]]:
        with lock:
            return [e for e in events if e[0] > after]

    async def follow() -> list[bytes]:
        got: list[bytes] = []
        async for chunk in stream(notifier, 5, 1, read):
            got.append(chunk)
            if len(got) == 1:  # the replay is done: the deploy goes on, in a thread

                def later() -> None:
                    with lock:
                        events.append((3, "end", {"status": "finished"}))
                    notifier.notify(5)

                threading.Thread(target=later).start()
        return got

    got = asyncio.run(asyncio.wait_for(follow(), 10))
    assert [seq for seq, _, _ in parse(iter(_lines(b"".join(got))))] == [2, 3]
    assert not notifier._waiters  # unregistered at the end
