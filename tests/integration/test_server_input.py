"""Bad input to the server's app routes: each answer is a 4xx with a one-line JSON
error, no stack trace, and nothing half-created. A real server process; no cluster is
needed (every request here is refused before the cluster would be asked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.access import Actor
from shipway.db.models import App
from shipway.server.settings import ServerSettings
from shipway.server.state import Server
from tests.helpers.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    state = tmp_path_factory.mktemp("server")
    env = {"KUBECONFIG": "/nonexistent/kubeconfig"}
    with running_server(state, None, env) as running:
        # Another team holding an app, made through the database as an operator would.
        with Server(ServerSettings(state_dir=state)).session() as session:
            other = accounts.create_user(session, "other@example.com")
            team = teams.create_team(session, "others", other)
            teams.claim_app(session, "theirs", team)
            teams.claim_app(session, "ours", teams.team_for(session, _admin(session), "main"))
        yield running


def _admin(session: Session) -> Actor:
    return accounts.actor_of(session, accounts.user_named(session, "admin@example.com"), "test")


def one_line_error(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "kind"}, body
    message = str(body["error"])
    assert "\n" not in message and "Traceback" not in response.text
    return message


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "says"),
    [
        ("PATCH", "/apps/ours/config", b"{not json", 422, "JSON"),
        ("PATCH", "/apps/ours/config", b'{"changes": {"A": "1"}, "also": 1}', 422, "also"),
        ("PATCH", "/apps/ours/config", b'{"changes": {}}', 400, "give 1 to 200 config vars"),
        ("PATCH", "/apps/ours/config", b'{"changes": "A=1"}', 422, "changes"),
        ("PUT", "/apps/ours/formation", b'{"counts": {"web": -1}}', 400, "use 0 to 100 pods"),
        ("POST", "/apps/ours/run", b'{"command": []}', 400, "give a command to run"),
        ("GET", "/apps/ours/config?reveal=maybe", None, 422, "reveal"),
        ("GET", "/apps/ours/config?colour=blue", None, 422, "colour"),
        ("GET", "/apps/Not_A_Label/config", None, 404, "no app Not_A_Label"),
        ("GET", "/apps/theirs/config", None, 404, "no app theirs"),
        # Bodies are parsed before the permission check: malformed JSON is 422 whoever
        # asks (which says nothing about the app), a well-formed one is checked after it.
        ("PATCH", "/apps/theirs/config", b"{not json", 422, "JSON"),
        ("PATCH", "/apps/theirs/config", b'{"changes": {}, "x": 1}', 404, "no app theirs"),
        ("GET", "/apps/ours/nothing-here", None, 404, "Not Found"),
        ("POST", "/apps", b'{"name": "Bad Name", "team": "main"}', 400, "not a valid name"),
        ("POST", "/apps", b'{"name": "theirs", "team": "main"}', 409, "name not available"),
        ("POST", "/apps", b'{"name": "new", "team": "others"}', 404, "no team others"),
        ("POST", "/apps/ours/import", b'{"team": "main", "x": 1}', 422, "x"),
    ],
)
def test_bad_requests_get_one_line_errors(
    server: RunningServer, method: str, path: str, content: bytes | None, status: int, says: str
) -> None:
    headers = {"Content-Type": "application/json"} if content is not None else {}
    response = server.api(method, path, content=content, headers=headers)
    assert says in one_line_error(response, status)


def test_a_token_in_the_url_is_refused(server: RunningServer) -> None:
    response = server.api("GET", f"/apps/ours/config?token={server.admin_token}", token="")
    assert "never in the URL" in one_line_error(response, 400)
    assert server.admin_token not in server.logs()


def test_an_oversized_body_is_refused_while_it_streams(server: RunningServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"changes": {"A": "'
        for _ in range(2048):
            yield b"x" * 1024
        yield b'"}}'

    response = server.api(
        "PATCH", "/apps/ours/config", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "too large" in one_line_error(response, 413)


def test_nothing_is_half_created(server: RunningServer) -> None:
    """A create the cluster refuses (here: no kubeconfig) leaves the name free."""
    response = server.api("POST", "/apps", json={"name": "fresh", "team": "main"})
    assert "kubeconfig" in one_line_error(response, 400)
    listed = server.api("GET", "/apps")
    assert listed.status_code == 400  # the list needs the cluster too
    with Server(ServerSettings(state_dir=server.state_dir)).session() as session:
        assert sorted(session.scalars(select(App.name))) == ["ours", "theirs"]


def test_the_api_is_described(server: RunningServer) -> None:
    schema = json.loads(server.api("GET", "/openapi.json", token="").text)
    assert "/api/v1/apps/{app}/config" in schema["paths"]
    assert set(schema["paths"]["/api/v1/apps/{app}/config"]) == {"get", "patch"}


def test_state_is_private(server: RunningServer) -> None:
    assert (Path(server.state_dir).stat().st_mode & 0o077) == 0
