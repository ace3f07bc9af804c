"""Teams over HTTP: the caller's teams, creating one (site admins), members, invites
(one-time links) and the audit log.

The team in the path is checked in a dependency (``team_access``), before the body is
read: a team the caller is not in answers 404, worded as for a team that does not exist;
a role below the action's answers 403. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.access import Action, Actor, Role
from shipway.db.models import AuditEntry, Invite, User
from shipway.errors import ShipwayError, Unauthenticated
from shipway.server.auth import CurrentActor, server
from shipway.server.routes.accounts import (
    SiteAdmin,
    Strict,
    Text,
    actor_for,
    new_token,
    site_admin,
)

router = APIRouter(tags=["teams"])

RoleName = Literal["owner", "admin", "member", "viewer"]


class NewTeam(Strict):
    name: Annotated[str, Field(max_length=100)]
    #: The team's first owner [default: the site admin who creates it].
    owner: Text | None = None


class MemberRole(Strict):
    role: RoleName


class InviteRequest(Strict):
    role: RoleName = "member"


class InviteAcceptance(Strict):
    code: Annotated[str, Field(max_length=200)]
    email: Text
    password: Text


@dataclass(frozen=True)
class TeamAccess:
    """A team the actor may do ``action`` in."""

    actor: Actor
    team_id: int
    name: str


def team_access(action: Action) -> Callable[..., TeamAccess]:
    def check(request: Request, team: str, actor: CurrentActor) -> TeamAccess:
        with server(request).session() as session:
            found = teams.team_for(session, actor, team, action)
            return TeamAccess(actor, found.id, found.name)

    return check


TeamReader = Annotated[TeamAccess, Depends(team_access(Action.READ))]
TeamManager = Annotated[TeamAccess, Depends(team_access(Action.MANAGE_MEMBERS))]


@router.get("/teams")
def list_teams(request: Request, actor: CurrentActor) -> list[dict[str, str]]:
    """The caller's teams and their role in each."""
    with server(request).session() as session:
        return team_rows(session, actor)


@router.post("/teams", status_code=201)
def create_team(request: Request, admin: SiteAdmin, body: NewTeam) -> dict[str, str]:
    """A new team (site admins), owned by ``owner`` or by its creator."""
    with server(request).session() as session:
        return make_team(session, admin, body.name, body.owner)


@router.get("/teams/{team}/members")
def list_members(request: Request, access: TeamReader) -> list[dict[str, str]]:
    """The team's members and their roles (any member may read it)."""
    with server(request).session() as session:
        return member_rows(session, access.actor, access.name)


@router.put("/teams/{team}/members/{email}")
def set_member(
    request: Request, access: TeamManager, email: str, body: MemberRole
) -> dict[str, str]:
    """Add a user to the team, or change their role (owners alone touch owners)."""
    with server(request).session() as session:
        return change_member(session, access.actor, access.name, email, Role.named(body.role))


@router.delete("/teams/{team}/members/{email}", status_code=204)
def remove_member(request: Request, access: TeamManager, email: str) -> Response:
    """Remove a member from the team (a team keeps at least one owner)."""
    with server(request).session() as session:
        drop_member(session, access.actor, access.name, email)
    return Response(status_code=204)


@router.post("/teams/{team}/invites", status_code=201)
def create_invite(request: Request, access: TeamManager, body: InviteRequest) -> dict[str, Any]:
    """A one-time invite link (expires in a week); its code is in this answer only."""
    with server(request).session() as session:
        return invite(session, access.actor, access.name, Role.named(body.role))


# -- what the API routes and the dashboard's pages both do --------------------------------


def team_rows(session: Session, actor: Actor) -> list[dict[str, str]]:
    return [{"name": t.name, "role": r.label} for t, r in teams.teams_of(session, actor)]


def make_team(session: Session, admin: Actor, name: str, owner: str | None) -> dict[str, str]:
    """A new team owned by ``owner`` (default: ``admin``), who must be a site admin."""
    site_admin(admin)
    user = accounts.user_named(session, owner or admin.email)
    team = teams.create_team(session, name, user)
    teams.audit(session, admin, "team.create", team.id, team=team.name, owner=user.email)
    return {"name": team.name, "owner": user.email}


def member_rows(session: Session, actor: Actor, name: str) -> list[dict[str, str]]:
    team = teams.team_for(session, actor, name)
    return [{"email": u.email, "role": r.label} for u, r in teams.members(session, team)]


def change_member(
    session: Session, actor: Actor, name: str, email: str, role: Role
) -> dict[str, str]:
    team = teams.team_for(session, actor, name, Action.MANAGE_MEMBERS)
    user = teams.set_member(session, actor, team, email, role)
    teams.audit(session, actor, "member.set", team.id, email=user.email, role=role.label)
    return {"team": team.name, "email": user.email, "role": role.label}


def drop_member(session: Session, actor: Actor, name: str, email: str) -> None:
    team = teams.team_for(session, actor, name, Action.MANAGE_MEMBERS)
    teams.remove_member(session, actor, team, email)
    teams.audit(session, actor, "member.remove", team.id, email=email.strip().lower())


def invite(session: Session, actor: Actor, name: str, role: Role) -> dict[str, Any]:
    """A new invite to the team; the answer holds its code, which exists nowhere else."""
    team = teams.team_for(session, actor, name, Action.MANAGE_MEMBERS)
    code = teams.create_invite(session, actor, team, role)
    teams.audit(session, actor, "invite.create", team.id, role=role.label)
    session.flush()
    made = _invite(session, code)
    return {
        "team": team.name,
        "role": role.label,
        "code": code,
        "path": f"/invite/{code}",
        "expires_at": accounts.when(made.expires_at),
    }


@router.post("/invites/accept", status_code=201)
def accept_invite(request: Request, body: InviteAcceptance) -> dict[str, Any]:
    """Join a team with an invite code: as a new user (this email and password), or as
    the existing user with this email (their password); answers with a new token."""
    refused: ShipwayError | None = None
    with server(request).session() as session:
        try:
            user, actor = join(session, request, body.code, body.email, body.password)
        except Unauthenticated as exc:
            refused = exc  # nothing changed but the failure count, which is kept
        else:
            answer = new_token(session, user, f"login from {actor.address}", None, actor)
            return {"email": user.email, **answer}
    raise refused


def join(
    session: Session, request: Request, code: str, email: str, password: str
) -> tuple[User, Actor]:
    """Accept an invite (audited); ``Unauthenticated`` for a wrong password, whose
    failure is counted when the caller's session commits all the same."""
    user = teams.accept_invite(session, code, email, password)
    actor = actor_for(user, request)
    invite = _invite(session, code)
    teams.audit(session, actor, "invite.accept", invite.team_id, role=Role(invite.role).label)
    return user, actor


def _invite(session: Session, code: str) -> Invite:
    return session.scalars(select(Invite).where(Invite.digest == accounts.digest(code))).one()


@router.get("/teams/{team}/audit")
def audit_log(
    request: Request,
    access: TeamManager,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """What changed in the team, newest first (team admins)."""
    with server(request).session() as session:
        return team_audit(session, access.actor, access.name, limit)


def team_audit(session: Session, actor: Actor, name: str, limit: int) -> list[dict[str, Any]]:
    team = teams.team_for(session, actor, name, Action.MANAGE_MEMBERS)
    return [_entry(e, team.name) for e in teams.audit_log(session, team, limit)]


@router.get("/audit")
def site_audit_log(
    request: Request,
    _admin: SiteAdmin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Every change on the server, newest first, with those no team owns (users, tokens,
    passwords): site admins."""
    with server(request).session() as session:
        entries = teams.audit_log(session, None, limit)
        names = teams.team_names(session, {e.team_id for e in entries if e.team_id is not None})
        return [_entry(e, names.get(e.team_id) if e.team_id else None) for e in entries]


def _entry(entry: AuditEntry, team: str | None = None) -> dict[str, Any]:
    return {
        "at": accounts.when(entry.at),
        "team": team,
        "actor": entry.actor,
        "address": entry.address,
        "app": entry.app,
        "action": entry.action,
        "detail": entry.detail,
    }
