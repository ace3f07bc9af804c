"""One route per verb of ``shipway.ops``: ``{method} /apps/{app}{path}``, authorised by
the verb's permission on the app's team, audited when it changes something."""

# No ``from __future__ import annotations``: each route's request model is a variable,
# and FastAPI reads the annotations at registration.

import dataclasses
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, create_model

from shipway import teams
from shipway.access import AUTHOR, Action, Actor
from shipway.errors import ShipwayError
from shipway.ops import apps, lifecycle  # noqa: F401  (they register their verbs)
from shipway.ops.table import VERBS, Call, Verb, audited
from shipway.server.auth import CurrentActor, server
from shipway.server.relay import ClientGone, Relay
from shipway.server.state import Server

log = logging.getLogger("shipway.server")


#: Verbs with routes of their own (routes/apps.py): they change which team owns an app.
OWN_ROUTES = {"create", "destroy"}


def router() -> APIRouter:
    routes = APIRouter(tags=["apps"])
    for verb in VERBS.values():
        if verb.name in OWN_ROUTES:
            continue
        routes.add_api_route(
            f"/apps/{{app}}{verb.path}",
            _endpoint(verb),
            methods=[verb.method],
            name=verb.name,
            summary=(verb.run.__doc__ or verb.name).split("\n")[0],
        )
    return routes


def _endpoint(verb: Verb[Any]) -> Any:
    if verb.method == "GET":
        model: Any = Annotated[_query_model(verb.request), Query()]
    else:
        model = Annotated[verb.request, Body()]

    def endpoint(
        request: Request, app: str, arguments: model, owned: Annotated[Owned, Depends(access(verb))]
    ) -> Any:
        if verb.method == "GET":
            arguments = verb.request(**arguments.model_dump())
        return perform(request, verb, app, arguments, owned)

    return endpoint


@dataclass(frozen=True)
class Owned:
    """An app the actor may run the verb on, and its team."""

    actor: Actor
    team_id: int


def access(verb: Verb[Any]) -> Callable[..., Owned]:
    """The permission check, as a dependency: FastAPI runs it before reading the body, so
    a request for an app the actor may not touch is 404/403 whatever its body says."""

    def check(request: Request, app: str, actor: CurrentActor) -> Owned:
        return owned(request, actor, app, verb.action)

    return check


def owned(request: Request, actor: Actor, app: str, action: Action) -> Owned:
    """The app, if the actor may do ``action`` on it (another team's app: not found)."""
    with server(request).session() as session:
        return Owned(actor, teams.app_for(session, actor, app, action).team_id)


def _query_model(request: type[Any]) -> type[BaseModel]:
    """A GET verb's request dataclass as the pydantic model FastAPI reads a query into
    (it reads bodies into dataclasses, but not queries)."""
    hints = get_type_hints(request)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], f.default) for f in dataclasses.fields(request)
    }
    return create_model(request.__name__, __config__=ConfigDict(extra="forbid"), **fields)


def perform(request: Request, verb: Verb[Any], app: str, arguments: Any, owned: Owned) -> Any:
    """Run and audit a verb the actor may run: what every way in does with a verb."""
    srv = server(request)
    actor, team_id = owned.actor, owned.team_id
    call = Call(target=srv.target, actor=actor, permits=lambda action: actor.may(action, team_id))
    if verb.stream:
        _audit(srv, verb, app, arguments, owned)
        return streamed(call, verb, app, arguments)
    result = run(srv, call, verb, app, arguments)
    _audit(srv, verb, app, arguments, owned)
    return result


def run(srv: Server, call: Call, verb: Verb[Any], app: str, arguments: Any) -> Any:
    """The verb, as its actor (the author of any release it makes), one release-making
    change of the app at a time."""
    token = AUTHOR.set(call.actor.email)
    try:
        if verb.releases:
            with srv.app_lock(app):
                return verb.run(call, app, arguments)
        return verb.run(call, app, arguments)
    finally:
        AUTHOR.reset(token)


def _audit(srv: Server, verb: Verb[Any], app: str, arguments: Any, owned: Owned) -> None:
    if verb.changes or getattr(arguments, "reveal", False):
        with srv.session() as session:
            teams.audit(session, owned.actor, verb.name, owned.team_id, app, **audited(arguments))


def streamed(call: Call, verb: Verb[Any], app: str, arguments: Any) -> StreamingResponse:
    """A streaming verb (logs, run) as NDJSON: ``{"line": …}`` as the lines come, then
    ``{"result": …}`` or ``{"error": …, "kind": …}``. The verb runs in a thread of its
    own; when the client goes away, its next line stops it."""

    async def body() -> AsyncIterator[bytes]:
        async for item in relayed(call, verb, app, arguments):
            yield json.dumps(item).encode() + b"\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")


def relayed(call: Call, verb: Verb[Any], app: str, arguments: Any) -> AsyncIterator[dict[str, Any]]:
    """A streaming verb's items: ``{"line": …}`` as they come, then ``{"result": …}`` or
    ``{"error": …, "kind": …}``. The verb runs in a thread of its own; when the consumer
    stops reading, the verb's next line stops it."""
    relay = Relay()
    call.emit = lambda line: relay.put({"line": line})

    def work() -> None:
        try:
            relay.put(_outcome(call, verb, app, arguments))
            relay.put(None)
        except ClientGone:
            return

    threading.Thread(target=work, name=f"{verb.name} {app}", daemon=True).start()
    return relay.items()


def _outcome(call: Call, verb: Verb[Any], app: str, arguments: Any) -> dict[str, Any]:
    try:
        return {"result": verb.run(call, app, arguments)}
    except ShipwayError as exc:
        return {"error": str(exc), "kind": exc.kind}
    except ClientGone:
        raise
    except Exception:  # a bug: the trace to the server's log, one line to the client
        log.exception("streaming %s on %s", verb.name, app)
        return {"error": "internal error (the server's log has the details)", "kind": "internal"}
