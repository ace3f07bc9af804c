"""Who a dashboard request is: the session cookie (a token, ``accounts.open_web_session``),
and the checks every form passes: the session's CSRF token and the request's origin."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from shipway import accounts
from shipway.access import Action, Actor
from shipway.errors import Denied, ShipwayError, Unauthenticated
from shipway.server.auth import address, server

COOKIE = "shipway_session"
#: Forms are small: a config value is the largest thing a form carries.
MAX_PART = 64 * 1024
MAX_FIELDS = 200


@dataclass(frozen=True)
class Visitor:
    """A signed-in user of the dashboard."""

    actor: Actor
    secret: str

    @property
    def csrf(self) -> str:
        return accounts.csrf_token(self.secret)

    def may(self, action: Action | str, team_id: int) -> bool:
        return self.actor.may(Action(action), team_id)


def dashboard(request: Request) -> None:
    """Marks the request as the dashboard's: its errors are pages, not JSON."""
    request.state.dashboard = True


def visitor(request: Request) -> Visitor:
    dashboard(request)
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        raise Unauthenticated("sign in first")
    with server(request).session() as session:
        user = accounts.user_of_token(session, secret)
        found = Visitor(accounts.actor_of(session, user, address(request)), secret)
    request.state.visitor = found
    return found


CurrentVisitor = Annotated[Visitor, Depends(visitor)]


def same_origin(request: Request) -> None:
    """A form sent from a page of another site is refused whatever it carries (browsers
    send ``Origin`` with every POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1].rstrip("/") != host:
        raise Denied("this form came from another site; open the dashboard and try again")


async def form(
    request: Request, csrf: str, max_fields: int = MAX_FIELDS, max_part: int = MAX_PART
) -> FormData:
    """The posted form, once its origin and its CSRF token are checked against ``csrf``."""
    same_origin(request)
    data = await request.form(max_files=0, max_fields=max_fields, max_part_size=max_part)
    sent = data.get("csrf")
    if not isinstance(sent, str) or not csrf or not hmac.compare_digest(sent, csrf):
        raise Denied("this form has expired or was not sent by the dashboard: reload the page")
    return data


async def posted(request: Request, visitor: CurrentVisitor) -> FormData:
    return await form(request, visitor.csrf)


Posted = Annotated[FormData, Depends(posted)]


def text(data: FormData, name: str, limit: int = 1000) -> str:
    """A field of the form ('' when it is missing); a longer one is refused, never cut."""
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ShipwayError(f"{name}: send text")
    if len(value) > limit:
        raise ShipwayError(f"{name}: at most {limit} characters")
    return value
