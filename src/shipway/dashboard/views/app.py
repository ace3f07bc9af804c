"""An app's page and what its buttons do: releases and rollback, config vars (revealed
only to roles that may read them), scale, restart, redeploy, addons, domains, git.

Every action is a verb of ``shipway.ops`` run through the same ``perform`` as the API
(its permission check, its audit, its per-app lock); the page shows a button only when
the visitor's role allows it, and the verb checks again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from shipway import gitrepos, gitsettings, teams
from shipway.access import Action
from shipway.dashboard import pages
from shipway.dashboard.auth import CurrentVisitor, Posted, Visitor, dashboard, text
from shipway.errors import ShipwayError
from shipway.ops.apps import ConfigChange, ConfigQuery, Formation, Processes, RollbackTo
from shipway.ops.lifecycle import Domain
from shipway.ops.table import VERBS
from shipway.queue import records
from shipway.server.auth import server
from shipway.server.routes.appgit import hook_urls, remote_url
from shipway.server.routes.verbs import owned, perform
from shipway.webhooks import deliveries

router = APIRouter(dependencies=[Depends(dashboard)])

#: The sections read from the cluster, each by its verb; one that fails (an app not
#: deployed yet has no release) shows its error and the rest of the page still shows.
READS = ("info", "releases", "ps", "addons", "domains")


def do(request: Request, visitor: Visitor, app: str, name: str, arguments: Any = None) -> Any:
    """Run the verb ``name`` as the API does: checked, locked, audited."""
    verb = VERBS[name]
    allowed = owned(request, visitor.actor, app, verb.action)
    return perform(request, verb, app, arguments or verb.request(), allowed)


def _read(request: Request, visitor: Visitor, app: str, name: str) -> tuple[Any, str]:
    try:
        return do(request, visitor, app, name), ""
    except ShipwayError as exc:
        if exc.kind in ("not-found", "denied", "unauthenticated"):
            raise
        return None, str(exc)


def view(request: Request, visitor: Visitor, app: str, revealed: bool = False) -> dict[str, Any]:
    """Everything the app's page shows."""
    team_id = owned(request, visitor.actor, app, Action.READ).team_id
    found = {name: _read(request, visitor, app, name) for name in READS}
    config = do(request, visitor, app, "config", ConfigQuery(reveal=revealed))
    srv = server(request)
    with srv.session() as session:
        history = _history(session, app)
        git = gitsettings.of(session, app)
        hooks = (
            [deliveries.as_json(row) for row in deliveries.recent(session, app, 10)]
            if visitor.may(Action.MANAGE_APP, team_id)
            else []
        )
        review = sorted(a.name for a in teams.apps_of(session, visitor.actor))
    return {
        "app": app,
        "team_id": team_id,
        "sections": found,
        "config": config,
        "revealed": revealed,
        **history,
        "git": git,
        "remote": remote_url(request, app),
        "hooks": hook_urls(request, app),
        "deliveries": hooks,
        "review_apps": [name for name in review if name.startswith(f"{app}-pr-")],
        "branches": gitrepos.branches(srv.git_root, app),
    }


@router.get("/apps/{app}")
def app_page(request: Request, visitor: CurrentVisitor, app: str) -> Response:
    return pages.render(request, "app.html", **view(request, visitor, app))


@router.get("/apps/{app}/deploys")
def deploys_part(request: Request, visitor: CurrentVisitor, app: str) -> Response:
    """The deploy history alone: the app's page reloads it while a deploy runs."""
    owned(request, visitor.actor, app, Action.READ)
    with server(request).session() as session:
        history = _history(session, app)
    return pages.render(request, "deploys_part.html", app=app, **history)


def _history(session: Session, app: str) -> dict[str, Any]:
    """The app's last deploys, and whether one of them is still under way."""
    deploys = [records.as_json(d) for d in records.of_app(session, app, 20)]
    active = any(d["status"] in (records.WAITING, records.RUNNING) for d in deploys)
    return {"deploys": deploys, "active": active}


@router.post("/apps/{app}/config/reveal")
def reveal(request: Request, visitor: CurrentVisitor, app: str, _form: Posted) -> Response:
    """The page with the config values shown (audited, like ``config --reveal``)."""
    return pages.render(request, "app.html", **view(request, visitor, app, revealed=True))


@router.post("/apps/{app}/config")
def set_config(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    name, value = text(form, "name", 200).strip(), text(form, "value", 32 * 1024)
    if not name:
        raise ShipwayError("name: give the config var a name, like DATABASE_POOL")
    do(request, visitor, app, "config:set", ConfigChange({name: value}))
    return _done(request, app, pages.words(request)("Config var set: a new release runs."))


@router.post("/apps/{app}/config/unset")
def unset_config(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    do(request, visitor, app, "config:set", ConfigChange({text(form, "name", 200): None}))
    return _done(request, app, pages.words(request)("Config var removed: a new release runs."))


@router.get("/apps/{app}/rollback/{version}")
def confirm_rollback(request: Request, visitor: CurrentVisitor, app: str, version: int) -> Response:
    owned(request, visitor.actor, app, Action.DEPLOY)
    return pages.render(request, "confirm_rollback.html", app=app, version=version)


@router.post("/apps/{app}/rollback/{version}")
def rollback(
    request: Request, visitor: CurrentVisitor, app: str, version: int, _form: Posted
) -> Response:
    result = do(request, visitor, app, "rollback", RollbackTo(f"v{version}"))
    message = pages.words(request)("Rolled back: release v{new} runs v{old}'s code.")
    return _done(request, app, message.format(new=result["release"], old=version))


@router.post("/apps/{app}/scale")
def scale(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    process, count = text(form, "process", 63), text(form, "count", 4).strip()
    if not count.isdigit():
        raise ShipwayError("count: give a whole number of processes, 0 to 100")
    do(request, visitor, app, "scale", Formation({process: int(count)}))
    return _done(request, app, pages.words(request)("Scaled."))


@router.post("/apps/{app}/restart")
def restart(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    process = text(form, "process", 63)
    do(request, visitor, app, "restart", Processes([process] if process else []))
    return _done(request, app, pages.words(request)("Restarted."))


@router.post("/apps/{app}/domains")
def add_domain(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    do(request, visitor, app, "domains:add", Domain(text(form, "domain", 253).strip()))
    return _done(request, app, pages.words(request)("Domain added."))


@router.post("/apps/{app}/domains/remove")
def remove_domain(request: Request, visitor: CurrentVisitor, app: str, form: Posted) -> Response:
    do(request, visitor, app, "domains:remove", Domain(text(form, "domain", 253)))
    return _done(request, app, pages.words(request)("Domain removed."))


def _done(request: Request, app: str, message: str) -> Response:
    return pages.redirect(request, f"/apps/{app}", flash=message)
