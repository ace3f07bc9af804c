"""Which way a verb goes: in process against the kubeconfig's cluster (direct mode), or to
the server the user is logged in to (remote mode). Both run the same verb of
``shipway.ops`` and return the same data, so each command prints one way.

Remote mode is on when a login is saved (``shipway login``) or ``SHIPWAY_URL`` and
``SHIPWAY_TOKEN`` are set, unless ``--direct`` is given (``SHIPWAY_DIRECT=1``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.cli.remote import Login, Remote
    from shipway.image.progress import Progress
    from shipway.ops.table import Verb

DIRECT = "SHIPWAY_DIRECT"


def login() -> Login | None:
    """The server to go through, or None for direct mode."""
    if os.environ.get(DIRECT):
        return None
    from shipway.cli.remote import saved

    return saved()


def remote() -> Remote:
    """The logged-in server, for the commands that only exist in remote mode."""
    from shipway.cli.remote import Remote, required

    return Remote(required())


def _verb(name: str) -> Verb[Any]:
    from shipway.ops import apps, lifecycle  # noqa: F401  (they register their verbs)
    from shipway.ops.table import VERBS

    return VERBS[name]


def perform(
    name: str,
    app: str,
    request: Any,
    context: str | None = None,
    namespace: str | None = None,
    progress: Progress | None = None,
    emit: Callable[[str], None] | None = None,
    timeout: float = 180,
) -> Any:
    """Run verb ``name`` on ``app``: what ``--json`` prints."""
    verb = _verb(name)
    where = login()
    if where is None:
        return _direct(verb, app, request, context, namespace, progress, emit, timeout)
    if context or namespace:
        raise ShipwayError(
            "--context and --namespace are for direct mode (the server knows its cluster): "
            "drop them, or add --direct"
        )
    from shipway.cli.remote import Remote

    return through(Remote(where), verb, app, request, emit)


def _direct(
    verb: Verb[Any],
    app: str,
    request: Any,
    context: str | None,
    namespace: str | None,
    progress: Progress | None,
    emit: Callable[[str], None] | None,
    timeout: float,
) -> Any:
    from shipway.access import local_actor
    from shipway.kube.client import Target, connect
    from shipway.ops.table import Call

    @functools.cache
    def target(name: str) -> Target:
        # Connected when the verb asks: it has imported what it needs by then, so an
        # unreachable cluster is reported by the verb that needed it.
        return Target(connect(context), namespace or name, name)

    call = Call(
        target=target,
        actor=local_actor(),
        progress=progress,
        timeout=timeout,
        emit=emit or (lambda _line: None),
    )
    return verb.run(call, app, request)


def through(
    server: Remote, verb: Verb[Any], app: str, request: Any, emit: Callable[[str], None] | None
) -> Any:
    """The verb's route on the server; a streaming verb's lines go to ``emit``."""
    path = f"/apps/{app}{verb.path}"
    fields = {k: v for k, v in dataclasses.asdict(request).items() if v is not None}
    body, params = (None, fields) if verb.method == "GET" else (fields, None)
    if not verb.stream:
        return server.request(verb.method, path, json=body, params=params)
    result = None
    for line in server.stream(verb.method, path, json=body, params=params):
        message = json.loads(line)
        if "line" in message:
            (emit or (lambda _line: None))(str(message["line"]))
        elif "error" in message:
            from shipway.cli.remote import error_of

            raise error_of(400, line)
        else:
            result = message.get("result")
    return result
