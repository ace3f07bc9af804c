"""The visitor's API tokens: listed, made (the value shown once) and revoked. Dashboard
sign-ins are tokens too (``accounts.WEB_SESSION``): revoking one signs that browser out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from shipway import accounts
from shipway.dashboard import pages
from shipway.dashboard.auth import COOKIE, CurrentVisitor, Posted, Visitor, dashboard, text
from shipway.errors import ShipwayError
from shipway.server.auth import server
from shipway.server.routes.accounts import own_token, revoke_own_token, token_rows

router = APIRouter(dependencies=[Depends(dashboard)])


@router.get("/tokens")
def tokens_page(request: Request, visitor: CurrentVisitor) -> Response:
    return _tokens_page(request, visitor)


@router.post("/tokens")
def create_token(request: Request, visitor: CurrentVisitor, data: Posted) -> Response:
    """The page itself, with the new value: a redirect would carry it in the flash
    cookie, and a token's value must be stored nowhere."""
    name, days = text(data, "name", 100), _days(data)
    with server(request).session() as session:
        made = own_token(session, visitor.actor, name, days)
    return _tokens_page(request, visitor, made=made)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, visitor: CurrentVisitor, token_id: int, _form: Posted
) -> Response:
    with server(request).session() as session:
        token = revoke_own_token(session, visitor.actor, token_id)
        signed_out = token.digest == accounts.digest(visitor.secret)
    _ = pages.words(request)
    if signed_out:
        response = pages.redirect(request, "/login", flash=_("You revoked this browser's sign-in."))
        response.delete_cookie(COOKIE, path="/")
        return response
    return pages.redirect(request, "/tokens", flash=_("Token revoked."))


def _tokens_page(
    request: Request, visitor: Visitor, made: dict[str, Any] | None = None
) -> Response:
    with server(request).session() as session:
        user = accounts.user_named(session, visitor.actor.email)
        rows = token_rows(session, user, visitor.secret)
    rows.reverse()  # newest first: the token just made, or the sign-in just opened, on top
    return pages.render(request, "tokens.html", tokens=rows, made=made)


def _days(data: FormData) -> int | None:
    """The expiry field: empty for none; ``accounts.expiry`` checks the range."""
    value = text(data, "expires_in_days", 10).strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ShipwayError("expires_in_days: give a whole number of days, or leave it empty")
    return int(value)
