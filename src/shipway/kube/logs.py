"""Pod logs, including a crashed container's previous run, which lightkube's ``log``
cannot ask for; this builds the same request with the ``previous`` parameter.

A log is the app's output: untrusted and unbounded. It is streamed, and a line longer
than ``MAX_LINE`` comes in pieces, so a pod that never ends a line cannot make Shipway
hold all it prints. The text is returned as it is; front ends sanitise what they show.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
from lightkube import Client
from lightkube.resources import core_v1

MAX_LINE = 64 << 10


def read_log(
    client: Client,
    pod: str,
    namespace: str,
    container: str | None = None,
    *,
    tail_lines: int | None = None,
    previous: bool = False,
    follow: bool = False,
) -> Iterator[str]:
    generic = client._client
    request = generic.prepare_request(
        "get",
        core_v1.PodLog,
        name=pod,
        namespace=namespace,
        params={
            "container": container,
            "tailLines": tail_lines,
            "previous": previous,
            "follow": follow,
            "timestamps": False,
        },
    )
    if follow:  # a followed log stays open: no read timeout
        request.timeout = httpx2.Timeout(30.0, read=None)
    response = generic.send(generic.build_adapter_request(request), stream=True)
    if response.is_error:
        response.read()
        response.close()
    generic.raise_for_status(response)  # type: ignore[no-untyped-call]
    return lines_of(response)


def lines_of(response: httpx2.Response) -> Iterator[str]:
    """The response's lines, each ending in a newline (``\\r\\n`` too), none longer
    than ``MAX_LINE``; the response is closed when they are read."""
    pending = ""
    try:
        for text in response.iter_text():
            *complete, pending = (pending + text).split("\n")
            for line in complete:
                yield from _pieces(line)
            while len(pending) > MAX_LINE:
                yield pending[:MAX_LINE] + "\n"
                pending = pending[MAX_LINE:]
        if pending:
            yield from _pieces(pending)
    finally:
        response.close()


def _pieces(line: str) -> Iterator[str]:
    line = line.removesuffix("\r")
    for start in range(0, max(len(line), 1), MAX_LINE):
        yield line[start : start + MAX_LINE] + "\n"
