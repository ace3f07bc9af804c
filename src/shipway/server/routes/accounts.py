"""Accounts over HTTP: signing in, tokens, passwords, and users (site admins); teams,
members and invites are in ``teams``, with the same rules.

Every route checks who may call it in a dependency, which FastAPI runs before it reads
the body: a caller without the right sees 401/403/404 whatever they sent. Another
team's things answer 404, like things that do not exist. Every change is audited, with
names and roles, never a password or a token. Answers never carry a password hash or a
token digest; a token's value is in the answer that creates it, and nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.access import Actor
from shipway.db.models import Token, User, utcnow
from shipway.errors import Denied, ShipwayError, Unauthenticated
from shipway.server.auth import CurrentActor, CurrentUser, address, bearer, server

router = APIRouter(tags=["accounts"])

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


# -- who may call ---------------------------------------------------------------------


def site_admin(actor: CurrentActor) -> Actor:
    if not actor.site_admin:
        raise Denied("only site admins may do this")
    return actor


SiteAdmin = Annotated[Actor, Depends(site_admin)]


def actor_for(user: User, request: Request) -> Actor:
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


def new_token(
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
            actor = actor_for(user, request)
            answer = new_token(session, user, f"login from {actor.address}", None, actor)
            return {"email": user.email, **answer}
    raise refused


@router.get("/tokens")
def list_tokens(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """The caller's tokens (prefix, times, state; never their value)."""
    with server(request).session() as session:
        return token_rows(session, user, bearer(request))


@router.post("/tokens", status_code=201)
def create_token(request: Request, actor: CurrentActor, body: TokenRequest) -> dict[str, Any]:
    """A new token for the caller; its value is in this answer only."""
    with server(request).session() as session:
        return own_token(session, actor, body.name, body.expires_in_days)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(request: Request, actor: CurrentActor, token_id: int) -> Response:
    """Revoke one of the caller's tokens."""
    with server(request).session() as session:
        revoke_own_token(session, actor, token_id)
    return Response(status_code=204)


# -- what the API routes and the dashboard's pages both do --------------------------------


def token_rows(session: Session, user: User, secret: str) -> list[dict[str, Any]]:
    """The user's tokens, the one whose value is ``secret`` (the caller's) marked current."""
    mine = accounts.digest(secret)
    return [_token_answer(t, t.digest == mine) for t in accounts.tokens_of(session, user)]


def own_token(session: Session, actor: Actor, name: str, days: int | None) -> dict[str, Any]:
    user = accounts.user_named(session, actor.email)
    return new_token(session, user, name, days, actor)


def revoke_own_token(session: Session, actor: Actor, token_id: int) -> Token:
    user = accounts.user_named(session, actor.email)
    token = accounts.revoke_token(session, user, token_id)
    teams.audit(session, actor, "token.revoke", token_id=token.id, name=token.name)
    return token


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
