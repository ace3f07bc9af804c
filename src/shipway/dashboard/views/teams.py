"""The visitor's teams; a team's members, invite links and audit log.

Every change goes through the functions the API's routes call (``routes.teams``), so
the permission table, the last-owner rule and the audit entries are theirs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from shipway import teams
from shipway.access import Action, Role
from shipway.dashboard import pages
from shipway.dashboard.auth import CurrentVisitor, Posted, Visitor, dashboard, text
from shipway.errors import NotFound, ShipwayError
from shipway.server.auth import server
from shipway.server.routes import teams as api

router = APIRouter(dependencies=[Depends(dashboard)])
#: How much of the audit log a team's page shows (the API gives more).
AUDIT_ROWS = 100


@router.get("/teams")
def teams_page(request: Request, visitor: CurrentVisitor) -> Response:
    with server(request).session() as session:
        rows = api.team_rows(session, visitor.actor)
    return pages.render(request, "teams.html", teams=rows)


@router.post("/teams")
def create_team(request: Request, visitor: CurrentVisitor, data: Posted) -> Response:
    name, owner = text(data, "name", 100).strip(), text(data, "owner", 254).strip()
    with server(request).session() as session:
        made = api.make_team(session, visitor.actor, name, owner or None)
    _ = pages.words(request)
    return pages.redirect(request, _team_url(made["name"]), flash=_("Team created."))


@router.get("/teams/{team}")
def team_page(request: Request, visitor: CurrentVisitor, team: str) -> Response:
    return _team_page(request, visitor, team)


@router.post("/teams/{team}/role")
def change_role(request: Request, visitor: CurrentVisitor, team: str, data: Posted) -> Response:
    email, role = text(data, "email", 254), _role(data)
    with server(request).session() as session:
        api.change_member(session, visitor.actor, team, email, role)
    _ = pages.words(request)
    return pages.redirect(request, _team_url(team), flash=_("Role changed."))


@router.get("/teams/{team}/remove")
def confirm_removal(
    request: Request, visitor: CurrentVisitor, team: str, email: str = ""
) -> Response:
    """The confirmation a removal needs (a page, not a script's dialog)."""
    with server(request).session() as session:
        # The removal's own check: a page that would only lead to a refusal is refused.
        teams.team_for(session, visitor.actor, team, Action.MANAGE_MEMBERS)
        listed = api.member_rows(session, visitor.actor, team)
    member = next((m for m in listed if m["email"] == email.strip().lower()), None)
    if member is None:
        raise NotFound(f"{email.strip().lower()[:254]} is not a member of {team}")
    return pages.render(request, "remove.html", team=team, member=member)


@router.post("/teams/{team}/remove")
def remove_member(request: Request, visitor: CurrentVisitor, team: str, data: Posted) -> Response:
    if text(data, "confirm", 10) != "yes":
        raise ShipwayError("confirm: tick the box to remove the member")
    with server(request).session() as session:
        api.drop_member(session, visitor.actor, team, text(data, "email", 254))
    _ = pages.words(request)
    return pages.redirect(request, _team_url(team), flash=_("Member removed."))


@router.post("/teams/{team}/invites")
def create_invite(request: Request, visitor: CurrentVisitor, team: str, data: Posted) -> Response:
    """The page itself, with the new link: a redirect would carry it in the flash cookie,
    and the link is a secret that must be stored nowhere."""
    role = _role(data)
    with server(request).session() as session:
        made = api.invite(session, visitor.actor, team, role)
    link = f"{_origin(request)}{made['path']}"
    return _team_page(request, visitor, team, invite={**made, "link": link})


def _team_page(
    request: Request, visitor: Visitor, team: str, invite: dict[str, Any] | None = None
) -> Response:
    with server(request).session() as session:
        found = teams.team_for(session, visitor.actor, team)
        members = api.member_rows(session, visitor.actor, found.name)
        manager = visitor.may(Action.MANAGE_MEMBERS, found.id)
        audit = api.team_audit(session, visitor.actor, found.name, AUDIT_ROWS) if manager else []
    return pages.render(
        request,
        "team.html",
        team=found.name,
        team_id=found.id,
        members=members,
        audit=audit,
        invite=invite,
    )


def _role(data: FormData) -> Role:
    try:
        return Role.named(text(data, "role", 20))
    except ValueError as exc:  # the API's body model rules these out; a form does not
        raise ShipwayError(f"role: {exc}") from None


def _team_url(team: str) -> str:
    return "/teams/" + quote(team, safe="")


def _origin(request: Request) -> str:
    """The address the browser reached us at, for a link to send to someone else."""
    scheme = "https" if pages.secure(request) else request.url.scheme
    return f"{scheme}://{request.headers.get('host') or request.url.netloc}"
