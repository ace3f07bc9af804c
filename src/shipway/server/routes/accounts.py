"""Accounts and teams over HTTP: signing in, tokens, passwords, users (site admins),
teams, members, invites and the audit log.

Every route checks who may call it in a dependency, which FastAPI runs before it reads
the body: a caller without the right sees 401/403/404 whatever they sent. Another
team's things answer 404, like things that do not exist. Every change is audited, with
names and roles, never a password or a token. Answers never carry a password hash or a
token digest; a token's value is in the answer that creates it, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.access import Action, Actor, Role
from shipway.db.models import AuditEntry, Invite, Token, User, utcnow
from shipway.errors import Denied, ShipwayError, Unauthenticated
from shipway.server.auth import CurrentActor, CurrentUser, address, bearer, server

router = APIRouter(tags=["accounts"])

RoleName = Literal["owner", "admin", "member", "viewer"]
Text = Annotated[str, Field(max_length=accounts.MAX_PASSWORD)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    email: Text
    password: Text


class TokenRequest(Strict):
    name: Annotated[str, Field(max_length=100)]
    expires_in_days: int | None = None


class PasswordRequest(Strict):
    #: Needed when the user has a password already.
    current_password: Text | None = None
    password: Text


class NewUser(Strict):
    email: Text
    site_admin: bool = False


class PasswordReset(Strict):
    password: Text


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


# -- who may call ---------------------------------------------------------------------


def site_admin(actor: CurrentActor) -> Actor:
    if not actor.site_admin:
        raise Denied("only site admins may do this")
    return actor


SiteAdmin = Annotated[Actor, Depends(site_admin)]


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


def _actor(user: User, request: Request) -> Actor:
    return Actor(email=user.email, user_id=user.id, address=address(request))


def _token_answer(token: Token, current: bool = False) -> dict[str, Any]:
    now = utcnow()
    state = "active"
    if token.revoked_at:
        state = "revoked"
    elif token.expires_at and token.expires_at <= now:
        state = "expired"
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "state": state,
        "current": current,
        "created_at": accounts.when(token.created_at),
        "last_used_at": accounts.when(token.last_used_at),
        "expires_at": accounts.when(token.expires_at),
        "revoked_at": accounts.when(token.revoked_at),
    }


def _new_token(
    session: Session, user: User, name: str, days: int | None, actor: Actor
) -> dict[str, Any]:
    secret = accounts.create_token(session, user, name, accounts.expiry(days))
    token = session.scalars(select(Token).where(Token.digest == accounts.digest(secret))).one()
    teams.audit(session, actor, "token.create", token_id=token.id, name=token.name)
    return {**_token_answer(token), "token": secret}


# -- signing in, tokens, passwords -----------------------------------------------------


@router.post("/login")
def login(request: Request, body: LoginRequest) -> dict[str, Any]:
    """Email and password for a new API token (failed attempts are rate limited)."""
    refused: ShipwayError | None = None
    with server(request).session() as session:
        try:
            user = accounts.sign_in(session, body.email, body.password, address(request))
        except Unauthenticated as exc:
            refused = exc  # the session still commits: the failure is counted
        else:
            actor = _actor(user, request)
            answer = _new_token(session, user, f"login from {actor.address}", None, actor)
            return {"email": user.email, **answer}
    raise refused


@router.get("/tokens")
def list_tokens(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """The caller's tokens (prefix, times, state; never their value)."""
    mine = accounts.digest(bearer(request))
    with server(request).session() as session:
        return [_token_answer(t, t.digest == mine) for t in accounts.tokens_of(session, user)]


@router.post("/tokens", status_code=201)
def create_token(request: Request, actor: CurrentActor, body: TokenRequest) -> dict[str, Any]:
    """A new token for the caller; its value is in this answer only."""
    with server(request).session() as session:
        user = accounts.user_named(session, actor.email)
        return _new_token(session, user, body.name, body.expires_in_days, actor)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(request: Request, actor: CurrentActor, token_id: int) -> Response:
    """Revoke one of the caller's tokens."""
    with server(request).session() as session:
        user = accounts.user_named(session, actor.email)
        token = accounts.revoke_token(session, user, token_id)
        teams.audit(session, actor, "token.revoke", token_id=token.id, name=token.name)
    return Response(status_code=204)


@router.put("/me/password", status_code=204)
def set_own_password(request: Request, actor: CurrentActor, body: PasswordRequest) -> Response:
    """Set the caller's password (the current one is needed once there is one)."""
    refused: ShipwayError | None = None
    with server(request).session() as session:
        user = accounts.user_named(session, actor.email)
        if user.password_hash is not None:
            try:
                accounts.sign_in(session, user.email, body.current_password or "", actor.address)
            except Unauthenticated:
                refused = Denied("current_password: that is not your current password")
        if refused is None:
            accounts.set_password(user, body.password)
            teams.audit(session, actor, "password.set")
    if refused is not None:
        raise refused
    return Response(status_code=204)


# -- users (site admins) ----------------------------------------------------------------


@router.get("/users")
def list_users(request: Request, _admin: SiteAdmin) -> list[dict[str, Any]]:
    """Every user of the server."""
    with server(request).session() as session:
        return [
            {
                "email": user.email,
                "site_admin": user.site_admin,
                "password_set": user.password_hash is not None,
                "created_at": accounts.when(user.created_at),
            }
            for user in session.scalars(select(User).order_by(User.email))
        ]


@router.post("/users", status_code=201)
def create_user(request: Request, admin: SiteAdmin, body: NewUser) -> dict[str, Any]:
    """A new user, with a token for their first sign-in (shown once)."""
    with server(request).session() as session:
        user = accounts.create_user(session, body.email, body.site_admin)
        token = accounts.create_token(session, user, f"created by {admin.email}"[:100])
        teams.audit(session, admin, "user.create", email=user.email, site_admin=user.site_admin)
        return {"email": user.email, "site_admin": user.site_admin, "token": token}


@router.put("/users/{email}/password", status_code=204)
def reset_password(request: Request, admin: SiteAdmin, email: str, body: PasswordReset) -> Response:
    """Set another user's password (they should change it with shipway passwd)."""
    with server(request).session() as session:
        user = accounts.user_named(session, email)
        accounts.set_password(user, body.password)
        teams.audit(session, admin, "user.reset-password", email=user.email)
    return Response(status_code=204)


# -- teams, members, invites, audit ------------------------------------------------------


@router.get("/teams")
def list_teams(request: Request, actor: CurrentActor) -> list[dict[str, str]]:
    """The caller's teams and their role in each."""
    with server(request).session() as session:
        return [{"name": t.name, "role": r.label} for t, r in teams.teams_of(session, actor)]


@router.post("/teams", status_code=201)
def create_team(request: Request, admin: SiteAdmin, body: NewTeam) -> dict[str, str]:
    """A new team (site admins), owned by ``owner`` or by its creator."""
    with server(request).session() as session:
        owner = accounts.user_named(session, body.owner or admin.email)
        team = teams.create_team(session, body.name, owner)
        teams.audit(session, admin, "team.create", team.id, team=team.name, owner=owner.email)
        return {"name": team.name, "owner": owner.email}


@router.get("/teams/{team}/members")
def list_members(request: Request, access: TeamReader) -> list[dict[str, str]]:
    """The team's members and their roles (any member may read it)."""
    with server(request).session() as session:
        team = teams.team_for(session, access.actor, access.name)
        return [{"email": u.email, "role": r.label} for u, r in teams.members(session, team)]


@router.put("/teams/{team}/members/{email}")
def set_member(
    request: Request, access: TeamManager, email: str, body: MemberRole
) -> dict[str, str]:
    """Add a user to the team, or change their role (owners alone touch owners)."""
    role = Role.named(body.role)
    with server(request).session() as session:
        team = teams.team_for(session, access.actor, access.name, Action.MANAGE_MEMBERS)
        user = teams.set_member(session, access.actor, team, email, role)
        teams.audit(session, access.actor, "member.set", team.id, email=user.email, role=role.label)
        return {"team": team.name, "email": user.email, "role": role.label}


@router.delete("/teams/{team}/members/{email}", status_code=204)
def remove_member(request: Request, access: TeamManager, email: str) -> Response:
    """Remove a member from the team (a team keeps at least one owner)."""
    with server(request).session() as session:
        team = teams.team_for(session, access.actor, access.name, Action.MANAGE_MEMBERS)
        teams.remove_member(session, access.actor, team, email)
        teams.audit(session, access.actor, "member.remove", team.id, email=email.strip().lower())
    return Response(status_code=204)


@router.post("/teams/{team}/invites", status_code=201)
def create_invite(request: Request, access: TeamManager, body: InviteRequest) -> dict[str, Any]:
    """A one-time invite link (expires in a week); its code is in this answer only."""
    role = Role.named(body.role)
    with server(request).session() as session:
        team = teams.team_for(session, access.actor, access.name, Action.MANAGE_MEMBERS)
        code = teams.create_invite(session, access.actor, team, role)
        teams.audit(session, access.actor, "invite.create", team.id, role=role.label)
        session.flush()
        invite = _invite(session, code)
        return {
            "team": team.name,
            "role": role.label,
            "code": code,
            "path": f"/invite/{code}",
            "expires_at": accounts.when(invite.expires_at),
        }


@router.post("/invites/accept", status_code=201)
def accept_invite(request: Request, body: InviteAcceptance) -> dict[str, Any]:
    """Join a team with an invite code: as a new user (this email and password), or as
    the existing user with this email (their password); answers with a new token."""
    refused: ShipwayError | None = None
    with server(request).session() as session:
        try:
            user = teams.accept_invite(session, body.code, body.email, body.password)
        except Unauthenticated as exc:
            refused = exc  # nothing changed but the failure count, which is kept
        else:
            actor = _actor(user, request)
            invite = _invite(session, body.code)
            role = Role(invite.role)
            teams.audit(session, actor, "invite.accept", invite.team_id, role=role.label)
            answer = _new_token(session, user, f"login from {actor.address}", None, actor)
            return {"email": user.email, **answer}
    raise refused


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
        team = teams.team_for(session, access.actor, access.name, Action.MANAGE_MEMBERS)
        return [_entry(e) for e in teams.audit_log(session, team, limit)]


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": accounts.when(entry.at),
        "actor": entry.actor,
        "address": entry.address,
        "app": entry.app,
        "action": entry.action,
        "detail": entry.detail,
    }
