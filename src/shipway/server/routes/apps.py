"""The routes that change which team owns an app: create, import, destroy; and the
list of the actor's apps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict

from shipway import listing, teams
from shipway.access import Action, Actor
from shipway.db.models import App
from shipway.errors import Denied, ShipwayError
from shipway.ops.apps import Removal
from shipway.ops.lifecycle import NewApp
from shipway.ops.table import VERBS, Call
from shipway.server.auth import CurrentActor, server
from shipway.server.routes.verbs import Owned, access, perform, run
from shipway.server.state import Server

router = APIRouter(tags=["apps"])


@router.get("/apps")
def list_apps(request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    """The apps of the actor's teams, with their release and status in the cluster."""
    return app_rows(server(request), actor)


def app_rows(srv: Server, actor: Actor) -> list[dict[str, Any]]:
    """Each app of the actor's teams: its team, and its release and status in the cluster."""
    with srv.session() as session:
        owned = {app.name: app.team_id for app in teams.apps_of(session, actor)}
        names = {team.id: team.name for team, _ in teams.teams_of(session, actor)}
    in_cluster = {row["app"]: row for row in listing.apps(srv.client) if row["app"] in owned}
    missing = {"release": "-", "status": "missing", "processes": {}}
    return [
        {"app": app, "namespace": app, **in_cluster.get(app, missing), "team": names[team_id]}
        for app, team_id in sorted(owned.items())
    ]


class Creation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    team: str | None = None


@router.post("/apps", status_code=201)
def create(request: Request, body: Creation, actor: CurrentActor) -> dict[str, Any]:
    """Create an app owned by ``team`` (default: the actor's only team). The name is
    claimed first, so two teams racing for it cannot both get it; if the cluster refuses
    (a namespace of that name exists), the claim is undone."""
    srv = server(request)
    with srv.session() as session:
        team = teams.team_for(
            session, actor, _team_name(actor, session, body.team), Action.MANAGE_APP
        )
        teams.claim_app(session, body.name, team)
        team_id = team.id
    owned = Owned(actor, team_id)
    try:
        return perform(request, VERBS["create"], body.name, NewApp(body.team), owned)  # type: ignore[no-any-return]
    except BaseException:
        with srv.session() as session:
            teams.release_app(session, body.name)
        raise


def _team_name(actor: Actor, session: Any, given: str | None) -> str:
    if given:
        return given
    mine = teams.teams_of(session, actor)
    if len(mine) != 1:
        raise ShipwayError("team: you are in several teams (or none): say which with --team")
    return mine[0][0].name


@router.delete("/apps/{app}")
def destroy(
    request: Request,
    app: str,
    body: Annotated[Removal, Body()],
    owned: Annotated[Owned, Depends(access(VERBS["destroy"]))],
) -> dict[str, Any]:
    """Delete the app; unless its data is kept, its name is free again."""
    result: dict[str, Any] = perform(request, VERBS["destroy"], app, body, owned)
    if not body.keep_data:
        server(request).free_name(app)
    return result


class Import(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str


@router.post("/apps/{app}/import")
def import_app(request: Request, app: str, body: Import, actor: CurrentActor) -> dict[str, Any]:
    """Give an app deployed from the CLI (direct mode) to a team. Site admins only: any
    app in the cluster could be claimed this way."""
    if not actor.site_admin:
        raise Denied("only site admins import apps")
    srv = server(request)
    call = Call(target=srv.target, actor=actor)
    info = run(srv, call, VERBS["volumes"], app, None)  # the app must exist in the cluster
    with srv.session() as session:
        team = teams.team_for(session, actor, body.team, Action.READ)
        claimed: App = teams.claim_app(session, app, team)
        teams.audit(session, actor, "apps:import", team.id, app, team=team.name)
    return {"app": claimed.name, "team": body.team, "volumes": info}
