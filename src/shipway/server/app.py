"""The ASGI application: ``create_app(settings)`` wires the routes to one ``Server``."""

from __future__ import annotations

from fastapi import FastAPI

from shipway import __version__, dashboard
from shipway.server import errors
from shipway.server.gitpush import Pushes
from shipway.server.limits import BodyLimit
from shipway.server.routes import accounts, appgit, apps, deploys, git, hooks, me, teams, verbs
from shipway.server.settings import ServerSettings
from shipway.server.state import Server

API = "/api/v1"


def create_app(settings: ServerSettings) -> FastAPI:
    app = FastAPI(
        title="Shipway",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.server = Server(settings)
    errors.install(app, dashboard.error_page)
    app.add_middleware(BodyLimit, default=settings.max_body, uploads=settings.max_upload)
    app.include_router(me.router, prefix=API)
    app.include_router(accounts.router, prefix=API)
    app.include_router(teams.router, prefix=API)
    app.include_router(apps.router, prefix=API)
    app.include_router(verbs.router(), prefix=API)
    deploying = app.state.deploys = deploys.Deploys(app.state.server)
    app.include_router(deploys.router(deploying), prefix=API)
    app.include_router(git.router(Pushes(deploying)))
    app.include_router(appgit.router, prefix=API)
    # Outside /api/v1: git hosts sign their deliveries, they hold no token.
    app.include_router(hooks.router(deploying))
    app.include_router(dashboard.router())
    app.mount("/static", dashboard.static(), name="static")
    return app
