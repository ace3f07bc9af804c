"""Pod logs, including a crashed container's previous run, which lightkube's ``log``
cannot ask for; this builds the same request with the ``previous`` parameter."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
from lightkube import Client
from lightkube.resources import core_v1


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
    response = generic.send(generic.build_adapter_request(request), stream=follow)
    if response.is_error and follow:
        response.read()
    generic.raise_for_status(response)  # type: ignore[no-untyped-call]
    return (line + "\n" for line in response.iter_lines())
