"""Who a request is: a bearer token in the ``Authorization`` header (or, for git, HTTP
Basic with the token as the password). A token anywhere else (the query string) is
refused: URLs end up in logs and browser histories."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shipway import accounts
from shipway.access import Actor
from shipway.db.models import User
from shipway.errors import ShipwayError, Unauthenticated
from shipway.server.state import Server


def server(request: Request) -> Server:
    found: Server = request.app.state.server
    return found


def db(request: Request) -> Iterator[Session]:
    with server(request).session() as session:
        yield session


def bearer(request: Request) -> str:
    if "token" in request.query_params or "access_token" in request.query_params:
        raise ShipwayError("send the token in the Authorization header, never in the URL")
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            password = ""
        if password:
            return password
    raise Unauthenticated("sign in first: shipway login URL (no token was sent)")


def current_user(request: Request) -> User:
    # A session of its own, closed before the route runs: a long verb must not hold the
    # database (SQLite's one writer) while it waits for a rollout.
    with server(request).session() as session:
        return accounts.user_of_token(session, bearer(request))


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_actor(request: Request, user: Annotated[User, Depends(current_user)]) -> Actor:
    with server(request).session() as session:
        return accounts.actor_of(session, user, address(request))


DB = Annotated[Session, Depends(db)]
CurrentUser = Annotated[User, Depends(current_user)]
CurrentActor = Annotated[Actor, Depends(current_actor)]
