"""Teams, their members and invitations, which team owns which app, and the audit log.

App names are cluster-wide (an app's namespace is its name), so taking a name that any
team holds says "name not available" without saying whose it is; an app of another team
is "not found", exactly like an app that does not exist.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway.access import Action, Actor, Role
from shipway.accounts import create_user, digest, new_secret, set_password, sign_in, user_named
from shipway.db.models import App, AuditEntry, Invite, Membership, Team, User, utcnow
from shipway.errors import Conflict, Denied, NotFound, ShipwayError, excerpt

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
INVITE_TTL = timedelta(days=7)


def check_label(what: str, name: str) -> str:
    if not _LABEL.fullmatch(name):
        raise ShipwayError(
            f"{what}: '{excerpt(name, 70)}' is not a valid name; use lowercase letters, digits "
            "and '-', at most 63, starting and ending with a letter or digit"
        )
    return name


def create_team(session: Session, name: str, owner: User) -> Team:
    check_label("team", name)
    if session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team: {name} is taken; choose another name")
    team = Team(name=name)
    session.add(team)
    session.flush()
    session.add(Membership(team_id=team.id, user_id=owner.id, role=int(Role.OWNER)))
    return team


def team_for(session: Session, actor: Actor, name: str, action: Action = Action.READ) -> Team:
    """The team ``name`` if the actor belongs to it and may do ``action`` there."""
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None or not actor.sees(team.id):
        raise NotFound(f"no team {excerpt(name, 63)}")
    if not actor.may(action, team.id):
        raise Denied(f"your role in {name} does not allow this ({action.value})")
    return team


def teams_of(session: Session, actor: Actor) -> list[tuple[Team, Role]]:
    rows = session.scalars(select(Team).where(Team.id.in_(actor.roles)).order_by(Team.name))
    return [(team, actor.roles[team.id]) for team in rows]


def members(session: Session, team: Team) -> list[tuple[User, Role]]:
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == team.id)
        .order_by(User.email)
    )
    return [(user, Role(role)) for user, role in rows]


def set_member(session: Session, actor: Actor, team: Team, email: str, role: Role) -> User:
    """Add a user to a team or change their role. Only owners make or unmake owners,
    and a team keeps at least one owner."""
    user = user_named(session, email)
    membership = session.get(Membership, (team.id, user.id))
    touches_owner = role == Role.OWNER or (membership and membership.role == Role.OWNER)
    if touches_owner and not actor.may(Action.MANAGE_TEAM, team.id):
        raise Denied("only the team's owners add or change owners")
    if membership is None:
        session.add(Membership(team_id=team.id, user_id=user.id, role=int(role)))
    else:
        if membership.role == Role.OWNER and role != Role.OWNER:
            _keep_an_owner(session, team, user)
        membership.role = int(role)
    return user


def remove_member(session: Session, actor: Actor, team: Team, email: str) -> None:
    user = user_named(session, email)
    membership = session.get(Membership, (team.id, user.id))
    if membership is None:
        raise NotFound(f"{user.email} is not a member of {team.name}")
    if membership.role == Role.OWNER:
        if not actor.may(Action.MANAGE_TEAM, team.id):
            raise Denied("only the team's owners remove an owner")
        _keep_an_owner(session, team, user)
    session.delete(membership)


def _keep_an_owner(session: Session, team: Team, leaving: User) -> None:
    owners = session.scalars(
        select(Membership).where(
            Membership.team_id == team.id,
            Membership.role == int(Role.OWNER),
            Membership.user_id != leaving.id,
        )
    ).first()
    if owners is None:
        raise Conflict(f"{team.name} would have no owner: make someone else owner first")


def create_invite(session: Session, actor: Actor, team: Team, role: Role) -> str:
    """A one-time link code that makes its holder a ``role`` of ``team``."""
    if role == Role.OWNER and not actor.may(Action.MANAGE_TEAM, team.id):
        raise Denied("only the team's owners invite owners")
    code = new_secret()
    session.add(
        Invite(
            team_id=team.id,
            role=int(role),
            digest=digest(code),
            created_by=actor.user_id,
            expires_at=utcnow() + INVITE_TTL,
        )
    )
    return code


def accept_invite(session: Session, code: str, email: str, password: str) -> User:
    """Join the invite's team: as a new user with this email and password, or, when the
    email has an account, as that user (the password must then be theirs)."""
    invite = session.scalar(select(Invite).where(Invite.digest == digest(code)))
    if invite is None or invite.used_at or invite.expires_at <= utcnow():
        raise NotFound("this invite link is not valid (used, expired or mistyped)")
    existing = session.scalar(select(User).where(User.email == email.strip().lower()))
    if existing is None:
        user = create_user(session, email)
        set_password(user, password)
    else:
        user = sign_in(session, email, password, "invite")
    if session.get(Membership, (invite.team_id, user.id)) is None:
        session.add(Membership(team_id=invite.team_id, user_id=user.id, role=invite.role))
    invite.used_at = utcnow()
    return user


def claim_app(session: Session, name: str, team: Team) -> App:
    check_label("app", name)
    if session.get(App, name) is not None:
        raise Conflict(f"app: name not available: {name}; choose another")
    app = App(name=name, team_id=team.id)
    session.add(app)
    session.flush()
    return app


def release_app(session: Session, name: str) -> None:
    """The app's name is free again (its app was deleted, or never made)."""
    app = session.get(App, name)
    if app is not None:
        session.delete(app)


def app_for(session: Session, actor: Actor, name: str, action: Action) -> App:
    """The app ``name`` if the actor's team owns it and their role allows ``action``;
    another team's app is not found, like one that does not exist."""
    app = session.get(App, name) if _LABEL.fullmatch(name) else None
    if app is None or not actor.sees(app.team_id):
        raise NotFound(f"no app {excerpt(name, 63)}")
    if not actor.may(action, app.team_id):
        raise Denied(f"your role does not allow this on {name} ({action.value})")
    return app


def apps_of(session: Session, actor: Actor) -> list[App]:
    return list(session.scalars(select(App).where(App.team_id.in_(actor.roles)).order_by(App.name)))


def audit(
    session: Session,
    actor: Actor,
    action: str,
    team_id: int | None = None,
    app: str | None = None,
    **detail: Any,
) -> None:
    """Record a change. ``detail`` carries names, counts and versions, never a secret."""
    session.add(
        AuditEntry(
            actor=actor.email,
            address=actor.address[:64],
            team_id=team_id,
            app=app,
            action=action,
            detail=detail,
        )
    )


def audit_log(session: Session, team: Team | None, limit: int = 200) -> list[AuditEntry]:
    """The team's entries, newest first; ``None``: every entry of the server (a site
    admin's view, with the changes no team owns: users, tokens, passwords)."""
    query = select(AuditEntry)
    if team is not None:
        query = query.where(AuditEntry.team_id == team.id)
    return list(
        session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    )


def team_names(session: Session, ids: set[int]) -> dict[int, str]:
    """The names of the teams with these ids (a deleted team's id has none)."""
    if not ids:
        return {}
    rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(ids))).tuples()
    return {team_id: name for team_id, name in rows}
