"""Issue 12: the authorization matrix. Every endpoint by every kind of caller, on SQLite
and PostgreSQL, each cell's answer asserted.

The expected answer of a cell comes from ``access.PERMISSIONS`` and the rules of the
API, never from the server: no valid token is 401; a site-admin endpoint is 403 to
anyone else; a team the caller is not in is 404, worded as for a team that does not
exist (no leak); a role below the action's is 403. An allowed cell on an endpoint with
a body sends its valid body plus an unknown field: 422 proves the caller got past the
permission check (a dependency FastAPI runs before it reads the body) while changing
nothing. A denied cell sends the same body: its 401/403/404 proves the check came first.
Endpoints without a body that change something (DELETE) make a real, prepared change.

To add endpoints (the app verbs): append ``Endpoint`` rows; path templates may use
``{team}``, ``{email}`` (a spare user), ``{token_id}`` and ``{app}`` (an app owned by
the callers' team, recorded in the database only). ``test_every_route_is_in_the_matrix``
lists the routers whose every route must have a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any, Literal

import httpx2
import pytest
from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import teams
from shipway.access import PERMISSIONS, Action, Role
from shipway.db.models import Deploy, DeployEvent, Team, Token, utcnow
from shipway.server.routes import accounts, appgit, apps, deploys, me, verbs
from shipway.server.routes import teams as team_routes
from shipway.server.settings import ServerSettings
from shipway.server.state import Server
from tests.helpers.server import RunningServer, running_server
from tests.helpers.serverdb import database_of

#: "build-token": a build Job's one-time token opens it (``shipway.buildjob``); no user's
#: token does, whoever holds it: not found for every caller.
Needs = Action | Literal["public", "any-user", "site-admin", "build-token"]

#: The callers: four roles in team ``alpha``, a member of another team (``beta``), a site
#: admin in neither, and three that hold no valid token (a member's, revoked or expired).
TEAM_ROLES = {
    "owner": Role.OWNER,
    "admin": Role.ADMIN,
    "member": Role.MEMBER,
    "viewer": Role.VIEWER,
}
CALLERS = [*TEAM_ROLES, "other-team", "site-admin", "no-token", "revoked", "expired"]
NO_VALID_TOKEN = {"no-token", "revoked", "expired"}
#: Sent with a valid body on an allowed cell: the body fails validation, nothing changes.
UNKNOWN_FIELD = {"matrix_probe": True}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    needs: Needs
    #: A valid body (None: the endpoint takes none).
    body: dict[str, Any] | None = None
    #: The status of an allowed cell when there is no body to spoil (a real change).
    allowed: int = 200
    #: Makes the thing an allowed DELETE removes: (world, caller) → path parameters.
    prepare: Callable[[World, str], dict[str, str]] | None = None
    #: Whether an allowed cell spoils its body with an unknown field (expecting 422). Off
    #: where the permission depends on the body (the team of ``POST /apps``): the valid
    #: body is sent, and the allowed answer is ``allowed``.
    probe: bool = True
    #: An allowed cell reaches the verb, which needs the cluster: the matrix's server has
    #: none, so the answer is a 400 naming the kubeconfig (past every permission check).
    cluster: bool = False
    #: A raw body and its type instead of JSON (the source upload).
    content: tuple[bytes, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _spare_member(world: World, _caller: str) -> dict[str, str]:
    """The spare user is a viewer of alpha again (an allowed DELETE removed them)."""
    answer = world.server.api(
        "PUT",
        f"/teams/alpha/members/{world.spare}",
        json={"role": "viewer"},
        token=world.tokens["owner"],
    )
    assert answer.status_code == 200, answer.text
    return {}


def _spare_token(world: World, caller: str) -> dict[str, str]:
    """A token of the caller's own (of the member's, for callers with no valid token)."""
    made = world.server.api("POST", "/tokens", token=world.helper[caller], json={"name": "spare"})
    assert made.status_code == 201, made.text
    return {"token_id": str(made.json()["id"])}


ENDPOINTS = [
    Endpoint("GET", "/health", "public"),
    Endpoint("POST", "/login", "public", {"email": "x@example.com", "password": "x" * 12}),
    Endpoint(
        "POST",
        "/invites/accept",
        "public",
        {"code": "shp_x", "email": "x@example.com", "password": "x" * 12},
    ),
    Endpoint("GET", "/whoami", "any-user"),
    Endpoint("GET", "/tokens", "any-user"),
    Endpoint("POST", "/tokens", "any-user", {"name": "matrix"}),
    Endpoint("DELETE", "/tokens/{token_id}", "any-user", allowed=204, prepare=_spare_token),
    Endpoint("PUT", "/me/password", "any-user", {"password": "x" * 12}),
    Endpoint("GET", "/teams", "any-user"),
    Endpoint("GET", "/users", "site-admin"),
    Endpoint("POST", "/users", "site-admin", {"email": "new@example.com"}),
    Endpoint("PUT", "/users/{email}/password", "site-admin", {"password": "x" * 12}),
    Endpoint("POST", "/teams", "site-admin", {"name": "gamma"}),
    Endpoint("GET", "/teams/{team}/members", Action.READ),
    Endpoint("PUT", "/teams/{team}/members/{email}", Action.MANAGE_MEMBERS, {"role": "viewer"}),
    Endpoint(
        "DELETE",
        "/teams/{team}/members/{email}",
        Action.MANAGE_MEMBERS,
        allowed=204,
        prepare=_spare_member,
    ),
    Endpoint("POST", "/teams/{team}/invites", Action.MANAGE_MEMBERS, {"role": "member"}),
    Endpoint("GET", "/teams/{team}/audit", Action.MANAGE_MEMBERS),
    Endpoint("GET", "/audit", "site-admin"),
    Endpoint("GET", "/build-sources", "build-token"),
]


def _verb(method: str, path: str, needs: Action, body: dict[str, Any] | None = None) -> Endpoint:
    """An app verb's route (``routes/verbs.py``) on ``matrix-app``."""
    return Endpoint(method, f"/apps/{{app}}{path}", needs, body, cluster=body is None)


APP_ENDPOINTS = [
    _verb("GET", "", Action.READ),
    _verb("GET", "/config", Action.READ),
    _verb("GET", "/config?reveal=true", Action.READ_CONFIG),
    _verb("PATCH", "/config", Action.DEPLOY, {"changes": {"A": "1"}}),
    _verb("GET", "/releases", Action.READ),
    _verb("POST", "/rollback", Action.DEPLOY, {}),
    _verb("PUT", "/formation", Action.DEPLOY, {"counts": {"web": 1}}),
    _verb("POST", "/restart", Action.DEPLOY, {}),
    _verb("GET", "/ps", Action.READ),
    # A stream: its head is 200 once allowed; the cluster's error comes inside it.
    Endpoint("GET", "/apps/{app}/logs", Action.READ),
    _verb("POST", "/run", Action.DEPLOY, {"command": ["true"]}),
    _verb("GET", "/addons", Action.READ),
    _verb("GET", "/volumes", Action.READ),
    _verb("GET", "/domains", Action.READ),
    _verb("POST", "/addons", Action.MANAGE_APP, {"addon": "redis"}),
    _verb("DELETE", "/addons", Action.MANAGE_APP, {"addon": "redis"}),
    _verb("POST", "/domains", Action.MANAGE_APP, {"domain": "a.example.com"}),
    _verb("DELETE", "/domains", Action.MANAGE_APP, {"domain": "a.example.com"}),
    _verb("DELETE", "", Action.MANAGE_APP, {"keep_data": True}),
    Endpoint("GET", "/apps", "any-user", cluster=True),
    Endpoint(
        "POST",
        "/apps",
        Action.MANAGE_APP,
        {"name": "matrix-new", "team": "alpha"},
        probe=False,
        cluster=True,
    ),
    Endpoint(
        "POST", "/apps/{app}/import", "site-admin", {"team": "alpha"}, probe=False, cluster=True
    ),
    # Not a tar.gz: refused (400) once the permission check has passed.
    Endpoint(
        "POST", "/apps/{app}/sources", Action.DEPLOY, allowed=400, content=(b"x", "text/plain")
    ),
    Endpoint("GET", "/apps/{app}/deploys", Action.READ),
    Endpoint("GET", "/deploys/{deploy}", Action.READ),
    Endpoint("GET", "/deploys/{deploy}/events", Action.READ),
    # Webhooks (issue 13): the secret and the credential are the app admins'. The hooks
    # themselves (/hooks/…, outside /api/v1) take no token: the app's secret signs them.
    Endpoint("GET", "/apps/{app}/git", Action.READ),
    # The settings are a free-form object checked by the core (a 400 names a bad field).
    Endpoint("PATCH", "/apps/{app}/git", Action.MANAGE_APP, {"branch": "main"}, probe=False),
    Endpoint("POST", "/apps/{app}/git/webhook-secret", Action.MANAGE_APP, cluster=True),
    Endpoint("PUT", "/apps/{app}/git/credential", Action.MANAGE_APP, {"token": "t0ken"}),
    Endpoint("GET", "/apps/{app}/git/deliveries", Action.MANAGE_APP),
]
ENDPOINTS += APP_ENDPOINTS


def expected(endpoint: Endpoint, caller: str) -> int:
    """The answer the rules call for, from the permission table alone."""
    allowed = 400 if endpoint.cluster else endpoint.allowed
    if endpoint.method != "GET" and endpoint.body is not None and endpoint.probe:
        allowed = 422
    if endpoint.needs in ("public", "build-token"):
        return allowed if endpoint.needs == "public" else 404
    if caller in NO_VALID_TOKEN:
        return 401
    if endpoint.needs == "any-user":
        return allowed
    if endpoint.needs == "site-admin":
        return allowed if caller == "site-admin" else 403
    role = TEAM_ROLES.get(caller)
    if role is None:
        return 404  # another team's things do not exist for the caller
    return allowed if role >= PERMISSIONS[endpoint.needs] else 403


@dataclass
class World:
    """The users, teams and tokens of the matrix, made once per backend."""

    server: RunningServer
    #: The token each caller sends ("" for none).
    tokens: dict[str, str] = field(default_factory=dict)
    #: A working token of each caller's user, to prepare cells with.
    helper: dict[str, str] = field(default_factory=dict)
    spare: str = "spare@example.com"
    params: dict[str, str] = field(default_factory=dict)


def _user(server: RunningServer, email: str) -> str:
    made = server.api("POST", "/users", json={"email": email})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


@pytest.fixture(scope="module")
def world(
    databases: Callable[[], str | None], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("matrix"), databases()) as server:
        made = World(server)
        for caller in TEAM_ROLES:
            made.tokens[caller] = _user(server, f"{caller}@matrix.example.com")
        made.tokens["other-team"] = _user(server, "other@matrix.example.com")
        made.tokens["site-admin"] = server.admin_token
        _user(server, made.spare)
        alpha = {"name": "alpha", "owner": "owner@matrix.example.com"}
        assert server.api("POST", "/teams", json=alpha).status_code == 201
        assert server.api("POST", "/teams", json={"name": "beta"}).status_code == 201
        for caller in ("admin", "member", "viewer"):
            answer = server.api(
                "PUT",
                f"/teams/alpha/members/{caller}@matrix.example.com",
                token=made.tokens["owner"],
                json={"role": caller},
            )
            assert answer.status_code == 200, answer.text
        assert (
            server.api(
                "PUT", "/teams/beta/members/other@matrix.example.com", json={"role": "member"}
            ).status_code
            == 200
        )
        member = made.tokens["member"]
        revoked = server.api("POST", "/tokens", token=member, json={"name": "revoked"}).json()
        server.api("DELETE", f"/tokens/{revoked['id']}", token=member)
        expired = server.api("POST", "/tokens", token=member, json={"name": "expired"}).json()
        with database_of(server) as session:
            row = session.get(Token, expired["id"])
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
            team = session.scalars(select(Team).where(Team.name == "alpha")).one()
            teams.claim_app(session, "matrix-app", team)
            made.params["deploy"] = str(_finished_deploy(session, "matrix-app"))
        made.tokens |= {"no-token": "", "revoked": revoked["token"], "expired": expired["token"]}
        made.helper = {caller: made.tokens[caller] for caller in [*TEAM_ROLES, "other-team"]}
        made.helper |= {"site-admin": server.admin_token}
        made.helper |= dict.fromkeys(NO_VALID_TOKEN, member)
        made.params |= {"team": "alpha", "email": made.spare, "app": "matrix-app"}
        yield made


def _finished_deploy(session: Session, app: str) -> int:
    """A deploy of ``app`` that ended (its event stream has its end): one to read."""
    deploy = Deploy(app=app, status="finished", source="upload", by="owner@matrix.example.com")
    session.add(deploy)
    session.flush()
    session.add(DeployEvent(deploy_id=deploy.id, seq=1, kind="end", data={"status": "finished"}))
    return deploy.id


def call(world: World, endpoint: Endpoint, caller: str, **params: str) -> httpx2.Response:
    values = {**world.params, **(endpoint.prepare(world, caller) if endpoint.prepare else {})}
    path = endpoint.path.format(**{**values, **params})
    options: dict[str, Any] = {}
    if endpoint.body is not None:
        options["json"] = {**endpoint.body, **(UNKNOWN_FIELD if endpoint.probe else {})}
    if endpoint.content is not None:
        options["content"], kind = endpoint.content
        options["headers"] = {"Content-Type": kind}
    return world.server.api(endpoint.method, path, token=world.tokens[caller], **options)


CELLS = [(endpoint, caller) for endpoint in ENDPOINTS for caller in CALLERS]


@pytest.mark.parametrize(("endpoint", "caller"), CELLS, ids=[f"{e.id} as {c}" for e, c in CELLS])
def test_cell(world: World, endpoint: Endpoint, caller: str) -> None:
    want = expected(endpoint, caller)
    answer = call(world, endpoint, caller)
    assert answer.status_code == want, (answer.status_code, answer.text)
    if want >= 400:
        body = answer.json()
        assert set(body) == {"error", "kind"} and "\n" not in answer.text.strip(), answer.text
        assert "Traceback" not in answer.text
    if want == 401:
        assert answer.json()["kind"] == "unauthenticated"
    if want == 400:
        assert ("kubeconfig" if endpoint.cluster else "tar.gz") in answer.json()["error"]
    if want == 404 and "{team}" in endpoint.path:
        # Another team's answer is the answer for a team that does not exist.
        nowhere = call(world, endpoint, caller, team="no-such-team")
        assert nowhere.status_code == 404
        assert nowhere.json() == {
            **answer.json(),
            "error": answer.json()["error"].replace("alpha", "no-such-team"),
        }


def _routes(router: APIRouter) -> set[str]:
    found = set()
    for route in router.routes:
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            found.add(f"{method} {route.path}")  # type: ignore[attr-defined]
    return found


def test_every_route_is_in_the_matrix() -> None:
    routes = _routes(accounts.router) | _routes(team_routes.router) | _routes(me.router)
    routes |= _routes(verbs.router()) | _routes(apps.router) | _routes(appgit.router)
    server = Server(ServerSettings(state_dir=Path(mkdtemp())))
    routes |= _routes(deploys.router(deploys.Deploys(server)))
    mapped = {e.id.partition("?")[0].replace("{deploy}", "{deploy_id}") for e in ENDPOINTS}
    assert routes == mapped
    assert len(CELLS) == len(ENDPOINTS) * len(CALLERS)


def test_the_expected_answers_follow_the_permission_table() -> None:
    """A check of the table's reading itself: a viewer reads members but never manages
    them; an admin manages members; a stranger sees 404; no token is 401."""
    members = next(e for e in ENDPOINTS if e.id == "GET /teams/{team}/members")
    invites = next(e for e in ENDPOINTS if e.id == "POST /teams/{team}/invites")
    assert [expected(members, c) for c in CALLERS] == [200] * 4 + [404, 404, 401, 401, 401]
    assert [expected(invites, c) for c in CALLERS] == [422, 422, 403, 403, 404, 404, 401, 401, 401]
