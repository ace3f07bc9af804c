"""Rendering: the templates, the language of each answer, the headers every page carries,
and the one-time notice a page shows after a form (the "flash")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from shipway.dashboard import i18n

ENV = Environment(
    loader=PackageLoader("shipway.dashboard", "templates"),
    autoescape=True,  # app names, config values and log lines are untrusted
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

ENV.tests["web_url"] = lambda url: isinstance(url, str) and url.startswith(("http://", "https://"))

#: What every page is sent with: scripts only from this server (no inline script runs,
#: so injected markup could not run one either), never framed, never cached.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
FLASH = "shipway_flash"
MAX_FLASH = 300


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def words(request: Request) -> Callable[[str], str]:
    """The translation function for the request's language (a view's own messages)."""
    return i18n.translations(language(request)).gettext


def secure(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly or through the ingress)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def fragment(request: Request, template: str, **context: Any) -> str:
    """A template rendered in the request's language, with what every page knows."""
    lang = language(request)
    words = i18n.translations(lang)
    visitor = getattr(request.state, "visitor", None)
    return ENV.get_template(template).render(
        _=words.gettext,
        ngettext=words.ngettext,
        lang=lang,
        languages=i18n.LANGUAGES,
        when=lambda moment: i18n.when(moment, lang),
        visitor=visitor,
        csrf=visitor.csrf if visitor else context.pop("csrf", ""),
        here=request.url.path,
        flash=request.cookies.get(FLASH, "")[:MAX_FLASH],
        **context,
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = fragment(request, template, **context)
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if FLASH in request.cookies:
        response.delete_cookie(FLASH, path="/")
    return response


def redirect(request: Request, url: str, flash: str = "") -> Response:
    """After a form: see ``url`` (303, so the browser GETs it), with a notice on it."""
    response = RedirectResponse(url, status_code=303, headers=HEADERS)
    if flash:
        response.set_cookie(
            FLASH,
            flash[:MAX_FLASH],
            httponly=True,
            samesite="strict",
            secure=secure(request),
            path="/",
        )
    return response


def sign_in_url(request: Request) -> str:
    return "/login?next=" + quote(safe_next(request.url.path), safe="/")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or a
    scheme, which would send the user to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/apps"
    if any(ord(c) < 0x20 for c in target) or len(target) > 300:
        return "/apps"
    return target
