"""The dashboard: server-rendered pages (Jinja2, htmx) over the same verbs, records and
permission table as the API. Mounted at the server's root; the API stays under
``/api/v1``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def router() -> APIRouter:
    # Imported here (see error_page).
    from shipway.dashboard.views import app, apps, deploys, signin, teams, tokens  # noqa: PLC0415

    routes = APIRouter(include_in_schema=False)
    for view in (signin, apps, app, deploys, teams, tokens):
        routes.include_router(view.router)
    return routes


def static() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def error_page(request: Request, status: int, message: str, kind: str) -> Response | None:
    """The page for an error of a dashboard request (None: not the dashboard's). Without
    a valid session, the sign-in page, coming back here after."""
    if not getattr(request.state, "dashboard", False):
        return None
    # Imported here: ``python -m shipway.dashboard.i18n`` (the install step) must not
    # have imported its own module through this package first.
    from shipway.dashboard import pages  # noqa: PLC0415

    if kind == "unauthenticated":
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": pages.sign_in_url(request)})
        return pages.redirect(request, pages.sign_in_url(request))
    return pages.render(request, "error.html", status, message=message, status_code=status)
