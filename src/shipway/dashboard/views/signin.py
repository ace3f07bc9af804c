"""Signing in and out, and joining a team with an invite link.

Before a session exists, the sign-in and invite forms are protected by a double-submit
token: a random value in a cookie of their own and in the form, which a page of another
site can neither read nor set."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shipway import accounts, teams
from shipway.dashboard import i18n, pages
from shipway.dashboard.auth import COOKIE, CurrentVisitor, Posted, dashboard, form, text
from shipway.db.models import User
from shipway.errors import ShipwayError, Unauthenticated
from shipway.server.auth import address, server
from shipway.server.routes.accounts import actor_for
from shipway.server.routes.teams import join

router = APIRouter(dependencies=[Depends(dashboard)])
PRE_CSRF = "shipway_signin_csrf"


def _form_page(request: Request, template: str, status: int = 200, **context: object) -> Response:
    token = request.cookies.get(PRE_CSRF) or secrets.token_urlsafe(32)
    response = pages.render(request, template, status, csrf=token, **context)
    response.set_cookie(
        PRE_CSRF, token, httponly=True, samesite="strict", secure=pages.secure(request), path="/"
    )
    return response


async def _signin_form(request: Request) -> FormData:
    return await form(request, request.cookies.get(PRE_CSRF, ""), max_fields=10, max_part=4096)


def _signed_in(request: Request, secret: str, goto: str) -> Response:
    response = pages.redirect(request, pages.safe_next(goto))
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(accounts.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",  # a link from elsewhere opens the dashboard signed in; a POST does not
        secure=pages.secure(request),
        path="/",
    )
    response.delete_cookie(PRE_CSRF, path="/")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/apps") -> Response:
    return _form_page(request, "login.html", goto=pages.safe_next(next), error="")


@router.post("/login")
async def login(request: Request) -> Response:
    data = await _signin_form(request)
    goto = pages.safe_next(text(data, "next", 300))
    email, password = text(data, "email", 254), text(data, "password", accounts.MAX_PASSWORD)
    refused: ShipwayError | None = None
    with server(request).session() as session:
        try:
            user = accounts.sign_in(session, email, password, address(request))
        except ShipwayError as exc:
            refused = exc  # the session still commits: the failure is counted
        else:
            secret = _open(session, request, user, "dashboard.sign-in")
    if refused is not None:
        status = 429 if refused.kind == "busy" else 401
        return _form_page(request, "login.html", status, goto=goto, error=str(refused))
    return _signed_in(request, secret, goto)


def _open(session: Session, request: Request, user: User, event: str) -> str:
    secret = accounts.open_web_session(session, user, address(request))
    teams.audit(session, actor_for(user, request), event)
    return secret


@router.post("/logout")
def logout(request: Request, visitor: CurrentVisitor, _form: Posted) -> Response:
    with server(request).session() as session:
        accounts.revoke_secret(session, visitor.secret)
    response = pages.redirect(request, "/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/invite/{code}")
def invite_page(request: Request, code: str) -> Response:
    return _form_page(request, "invite.html", code=code, error="")


@router.post("/invite/{code}")
async def accept(request: Request, code: str) -> Response:
    data = await _signin_form(request)
    email, password = text(data, "email", 254), text(data, "password", accounts.MAX_PASSWORD)
    refused: ShipwayError | None = None
    try:
        with server(request).session() as session:
            try:
                user, _actor = join(session, request, code, email, password)
            except Unauthenticated as exc:
                refused = exc  # committed all the same: the failure is counted
            else:
                secret = _open(session, request, user, "dashboard.sign-in")
    except ShipwayError as exc:  # rolled back: no account half made
        refused = exc
    if refused is not None:
        status = {"not-found": 404, "busy": 429, "unauthenticated": 401}.get(refused.kind, 400)
        return _form_page(request, "invite.html", status, code=code, error=str(refused))
    return _signed_in(request, secret, "/apps")


@router.get("/lang/{language}")
def choose_language(request: Request, language: str, next: str = "/apps") -> Response:
    response = pages.redirect(request, pages.safe_next(next))
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            language,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=pages.secure(request),
            path="/",
        )
    return response
