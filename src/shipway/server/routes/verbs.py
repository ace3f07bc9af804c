"""One route per verb of ``shipway.ops``: ``{method} /apps/{app}{path}``, authorised by
the verb's permission on the app's team, audited when it changes something."""

# No ``from __future__ import annotations``: each route's request model is a variable,
# and FastAPI reads the annotations at registration.

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, create_model

from shipway import releases, teams
from shipway.access import Actor
from shipway.ops import apps as _registers_app_verbs  # noqa: F401
from shipway.ops.table import VERBS, Call, Verb, audited
from shipway.server.auth import CurrentActor, server


def router() -> APIRouter:
    routes = APIRouter(tags=["apps"])
    for verb in VERBS.values():
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
        with server(request).session() as session:
            return Owned(actor, teams.app_for(session, actor, app, verb.action).team_id)

    return check


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
    call = Call(
        target=srv.target,
        actor=actor,
        permits=lambda action: actor.may(action, team_id),
    )
    token = releases.AUTHOR.set(actor.email)
    try:
        if verb.releases:
            with srv.app_lock(app):
                result = verb.run(call, app, arguments)
        else:
            result = verb.run(call, app, arguments)
    finally:
        releases.AUTHOR.reset(token)
    if verb.changes or getattr(arguments, "reveal", False):
        with srv.session() as session:
            teams.audit(session, actor, verb.name, team_id, app, **audited(arguments))
    return result
