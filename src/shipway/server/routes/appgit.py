"""An app's git settings in the API (issue 13): the deploy branch, subdirectory, review
apps and upstream (read with ``read``, changed with ``manage-app``); and, all
``manage-app``, a new webhook secret (returned once, with the hook URLs), the deploy
credential the server fetches with, and the record of deliveries. Neither the secret
nor the token is ever returned again, logged or audited (the audit log says that they
changed)."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from shipway import gitsettings, teams
from shipway.access import Action
from shipway.server.auth import CurrentActor, server
from shipway.server.routes.verbs import Owned, owned
from shipway.webhooks import deliveries, keys

router = APIRouter(tags=["git"])


@router.get("/apps/{app}/git")
def get_settings(request: Request, app: str, actor: CurrentActor) -> dict[str, Any]:
    """The app's git settings, with its repository's and hooks' URLs."""
    with server(request).session() as session:
        found = gitsettings.read(session, actor, app)
    return _settings_json(request, app, found)


@router.patch("/apps/{app}/git")
def change_settings(
    request: Request, app: str, actor: CurrentActor, body: dict[str, Any]
) -> dict[str, Any]:
    """Change some of the app's git settings (a null branch or upstream: the default)."""
    with server(request).session() as session:
        changed = gitsettings.change(session, actor, app, body)
    return _settings_json(request, app, changed)


def _settings_json(request: Request, app: str, found: gitsettings.GitSettings) -> dict[str, Any]:
    return {
        "app": app,
        **found.model_dump(),
        "branches": list(found.branches),
        "remote": remote_url(request, app),
        "hooks": hook_urls(request, app),
    }


def remote_url(request: Request, app: str) -> str:
    """The URL ``git push`` sends the app's code to."""
    return f"{str(request.base_url).rstrip('/')}/{app}.git"


def may_manage(request: Request, app: str, actor: CurrentActor) -> Owned:
    """A dependency: the permission checked before the body is read."""
    return owned(request, actor, app, Action.MANAGE_APP)


Managed = Annotated[Owned, Depends(may_manage)]


def hook_urls(request: Request, app: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {p: f"{base}/hooks/{p}/{app}" for p in ("github", "gitlab", "generic")}


@router.post("/apps/{app}/git/webhook-secret", status_code=201)
async def new_secret(request: Request, app: str, owned: Managed) -> dict[str, Any]:
    """Make a new webhook secret (the old one stops working); shown once, with the URLs."""
    srv = server(request)
    secret = await to_thread.run_sync(keys.rotate_secret, srv.client, app)
    with srv.session() as session:
        teams.audit(session, owned.actor, "git:webhook", owned.team_id, app, secret="rotated")
    return {"app": app, "secret": secret, "urls": hook_urls(request, app)}


class Credential(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: None removes the credential.
    token: str | None
    username: str | None = None


@router.put("/apps/{app}/git/credential")
async def set_credential(
    request: Request, app: str, body: Credential, owned: Managed
) -> dict[str, Any]:
    """Set the token the server fetches the app's repository with over HTTPS (or remove
    it with a null token)."""
    srv = server(request)
    await to_thread.run_sync(keys.set_token, srv.client, app, body.token, body.username)
    state = "set" if body.token else "removed"
    with srv.session() as session:
        teams.audit(session, owned.actor, "git:credential", owned.team_id, app, credential=state)
    user = (body.username or keys.DEFAULT_USER) if body.token else None
    return {"app": app, "credential": state, "username": user}


@router.get("/apps/{app}/git/deliveries")
def list_deliveries(
    request: Request,
    app: str,
    _owned: Managed,
    limit: Annotated[int, Query(ge=1, le=deliveries.KEEP)] = 50,
) -> list[dict[str, Any]]:
    """The app's webhook deliveries, newest first: what became of each and why."""
    with server(request).session() as session:
        return [deliveries.as_json(row) for row in deliveries.recent(session, app, limit)]
