"""Issue 12: accounts and teams through a real server process, on SQLite and PostgreSQL.

Signing in (and its rate limit), tokens (shown once, prefix listed, revoked and expired
ones refused), invites (one use, expiring), members and the last owner, the audit log
without a secret in it, and bad input answered with one line of JSON.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from shipway.db.models import AuditEntry, Invite, Token, utcnow
from tests.helpers.server import ADMIN, RunningServer, running_server
from tests.helpers.serverdb import database_of

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(backend_server: RunningServer) -> RunningServer:
    """One server per backend for the module; each test makes its own users and teams."""
    return backend_server


@pytest.fixture
def fresh_server(databases: Callable[[], str | None], tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own: failed sign-ins from 127.0.0.1 count against every test."""
    with running_server(tmp_path / "server", databases()) as running:
        yield running


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def one_line_error(response: httpx2.Response, status: int, kind: str | None = None) -> str:
    """The answer is ``status`` with a one-line JSON error and nothing else."""
    assert response.status_code == status, (response.status_code, response.text)
    text = response.text
    assert "\n" not in text.strip() and "Traceback" not in text and 'File "' not in text, text
    body = response.json()
    assert set(body) == {"error", "kind"}, body
    if kind:
        assert body["kind"] == kind, body
    message: str = body["error"]
    assert message.isprintable(), message  # no newline, no escape sequence either
    return message


def new_user(server: RunningServer, email: str | None = None) -> tuple[str, str]:
    """A user made by the site admin: (email, their one-time token)."""
    email = email or f"{unique('user')}@example.com"
    made = server.api("POST", "/users", json={"email": email})
    assert made.status_code == 201, made.text
    return email, made.json()["token"]


def new_team(server: RunningServer, owner: str | None = None) -> str:
    name = unique("team")
    made = server.api("POST", "/teams", json={"name": name, "owner": owner})
    assert made.status_code == 201, made.text
    return name


def test_the_token_server_init_printed_signs_in(server: RunningServer) -> None:
    me = server.api("GET", "/whoami")
    assert me.status_code == 200
    assert me.json() == {"email": ADMIN, "site_admin": True, "teams": {"main": "owner"}}
    assert server.api("GET", "/teams").json() == [{"name": "main", "role": "owner"}]
    one_line_error(server.api("GET", "/whoami", token=""), 401, "unauthenticated")
    spec = server.api("GET", "/openapi.json", token="")
    assert spec.status_code == 200
    assert {"/api/v1/login", "/api/v1/teams/{team}/members/{email}"} <= set(spec.json()["paths"])


def test_login_with_a_password_and_its_rate_limit(fresh_server: RunningServer) -> None:
    server = fresh_server

    def login(password: str) -> httpx2.Response:
        return server.api("POST", "/login", token="", json={"email": ADMIN, "password": password})

    # 1st failure: no password set yet (server init sets none).
    assert one_line_error(login(PASSWORD), 401, "unauthenticated") == "wrong email or password"
    assert server.api("PUT", "/me/password", json={"password": PASSWORD}).status_code == 204
    signed_in = login(PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    assert signed_in.json()["name"] == "login from 127.0.0.1"
    assert server.api("GET", "/whoami", token=token).json()["email"] == ADMIN
    one_line_error(login("not the password"), 401, "unauthenticated")  # 2nd
    # Once a password is set, changing it needs it (3rd failure: none given).
    new = "another fine passphrase"
    one_line_error(server.api("PUT", "/me/password", json={"password": new}), 403, "denied")
    changed = server.api(
        "PUT", "/me/password", json={"current_password": PASSWORD, "password": new}
    )
    assert changed.status_code == 204
    too_short = {"current_password": new, "password": "short"}
    assert "10 to 1024" in one_line_error(server.api("PUT", "/me/password", json=too_short), 400)
    one_line_error(login(PASSWORD), 401)  # 4th: the old password no longer works
    assert login(new).status_code == 200
    one_line_error(login("wrong again"), 401)  # 5th
    # The limit: even the right password waits now.
    assert "too many failed sign-ins" in one_line_error(login(new), 429, "busy")
    one_line_error(
        server.api("POST", "/login", token="", json={"email": ADMIN, "password": "short"}), 429
    )
    # Changing the password checks the current one: limited as well.
    one_line_error(
        server.api("PUT", "/me/password", json={"current_password": new, "password": PASSWORD}),
        429,
    )
    one_line_error(server.api("PUT", "/me/password", token="", json={"password": new}), 401)
    log = server.logs()
    for secret in (PASSWORD, new, token):
        assert secret not in log


def test_tokens_are_shown_once_listed_by_prefix_revoked_and_expired(
    server: RunningServer,
) -> None:
    email, first = new_user(server)
    made = server.api("POST", "/tokens", token=first, json={"name": "ci", "expires_in_days": 30})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("shp_") and made.json()["prefix"] == token[:12]
    assert made.json()["expires_at"] and made.json()["state"] == "active"
    assert server.api("GET", "/whoami", token=token).json()["email"] == email

    listed = server.api("GET", "/tokens", token=first)
    assert listed.status_code == 200
    rows = {row["name"]: row for row in listed.json()}
    assert set(rows) == {"ci", f"created by {ADMIN}"}
    assert rows["ci"]["prefix"] == token[:12] and not rows["ci"]["current"]
    assert rows[f"created by {ADMIN}"]["current"]
    assert rows[f"created by {ADMIN}"]["last_used_at"]
    text = listed.text
    assert token not in text and first not in text and "digest" not in text
    with database_of(server) as session:
        digests = [t.digest for t in session.scalars(select(Token))]
    assert not any(d in text for d in digests)

    # Someone else's token is not found; revoking one's own ends it.
    _, other = new_user(server)
    ci = rows["ci"]["id"]
    one_line_error(server.api("DELETE", f"/tokens/{ci}", token=other), 404, "not-found")
    assert server.api("DELETE", f"/tokens/{ci}", token=first).status_code == 204
    refused = one_line_error(server.api("GET", "/whoami", token=token), 401, "unauthenticated")
    assert "not valid" in refused
    states = {row["name"]: row["state"] for row in server.api("GET", "/tokens", token=first).json()}
    assert states["ci"] == "revoked"

    # Expiry: a fault no test can wait for, made in the database.
    later = server.api("POST", "/tokens", token=first, json={"name": "short", "expires_in_days": 1})
    short = later.json()["token"]
    assert server.api("GET", "/whoami", token=short).status_code == 200
    with database_of(server) as session:
        row = session.get(Token, later.json()["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert one_line_error(server.api("GET", "/whoami", token=short), 401) == refused
    states = {row["name"]: row["state"] for row in server.api("GET", "/tokens", token=first).json()}
    assert states["short"] == "expired"
    # Bad expiry and names.
    for body in ({"name": "x", "expires_in_days": 0}, {"name": " "}, {"name": "a\tb"}):
        one_line_error(server.api("POST", "/tokens", token=first, json=body), 400, "invalid")


def test_invites_are_one_time_expire_and_make_members(server: RunningServer) -> None:
    team = new_team(server)
    made = server.api("POST", f"/teams/{team}/invites", json={"role": "member"})
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert made.json()["path"] == f"/invite/{code}" and made.json()["role"] == "member"

    # A password too short: nothing is made, and the invite stays usable.
    email = f"{unique('joiner')}@example.com"
    accept = {"code": code, "email": email, "password": "short"}
    one_line_error(server.api("POST", "/invites/accept", token="", json=accept), 400)
    assert email not in server.api("GET", "/users").text

    accepted = server.api(
        "POST", "/invites/accept", token="", json={**accept, "password": PASSWORD}
    )
    assert accepted.status_code == 201, accepted.text
    token = accepted.json()["token"]
    assert server.api("GET", "/whoami", token=token).json()["teams"] == {team: "member"}
    members = server.api("GET", f"/teams/{team}/members").json()
    assert {"email": email, "role": "member"} in members

    again = {"code": code, "email": f"{unique('late')}@example.com", "password": PASSWORD}
    gone = one_line_error(server.api("POST", "/invites/accept", token="", json=again), 404)
    assert "not valid" in gone

    # An existing user joins with their own password.
    viewer = server.api("POST", f"/teams/{team}/invites", json={"role": "viewer"}).json()["code"]
    email2, first = new_user(server)
    assert (
        server.api("PUT", "/me/password", token=first, json={"password": PASSWORD}).status_code
        == 204
    )
    joined = server.api(
        "POST",
        "/invites/accept",
        token="",
        json={"code": viewer, "email": email2, "password": PASSWORD},
    )
    assert joined.status_code == 201, joined.text
    assert server.api("GET", "/whoami", token=first).json()["teams"] == {team: "viewer"}

    # Expired: a week is too long to wait; the database says it is over.
    expiring = server.api("POST", f"/teams/{team}/invites", json={}).json()["code"]
    with database_of(server) as session:
        for invite in session.scalars(select(Invite).where(Invite.used_at.is_(None))):
            invite.expires_at = utcnow() - timedelta(seconds=1)
    late = {"code": expiring, "email": f"{unique('late')}@example.com", "password": PASSWORD}
    assert one_line_error(server.api("POST", "/invites/accept", token="", json=late), 404) == gone
    one_line_error(
        server.api("POST", "/invites/accept", token="", json={**late, "code": "shp_nonsense"}), 404
    )


def test_members_roles_and_the_last_owner(server: RunningServer) -> None:
    alice, alice_token = new_user(server)
    bob, bob_token = new_user(server)
    _, outsider = new_user(server)
    team = new_team(server)  # owned by the site admin

    def put(email: str, role: str, token: str | None = None) -> httpx2.Response:
        return server.api("PUT", f"/teams/{team}/members/{email}", token=token, json={"role": role})

    assert put(alice, "admin").json() == {"team": team, "email": alice, "role": "admin"}
    assert put(bob, "member", alice_token).status_code == 200
    assert put(bob, "viewer", alice_token).json()["role"] == "viewer"
    listed = server.api("GET", f"/teams/{team}/members", token=bob_token)
    assert listed.json() == sorted(
        [
            {"email": ADMIN, "role": "owner"},
            {"email": alice, "role": "admin"},
            {"email": bob, "role": "viewer"},
        ],
        key=lambda m: m["email"],
    )
    # Admins manage members but not owners; viewers manage nothing; outsiders see nothing.
    one_line_error(put(bob, "owner", alice_token), 403, "denied")
    one_line_error(server.api("DELETE", f"/teams/{team}/members/{ADMIN}", token=alice_token), 403)
    one_line_error(put(alice, "viewer", bob_token), 403, "denied")
    missing = one_line_error(server.api("GET", f"/teams/{team}/members", token=outsider), 404)
    assert missing == f"no team {team}"
    one_line_error(put(bob, "member", outsider), 404, "not-found")
    one_line_error(put("nobody@example.com", "member"), 404, "not-found")
    one_line_error(put(bob, "emperor"), 422, "invalid")

    # The last owner stays until someone else is owner.
    assert "no owner" in one_line_error(put(ADMIN, "admin"), 409, "conflict")
    one_line_error(server.api("DELETE", f"/teams/{team}/members/{ADMIN}"), 409, "conflict")
    assert put(alice, "owner").status_code == 200
    assert put(ADMIN, "admin", alice_token).json()["role"] == "admin"

    assert (
        server.api("DELETE", f"/teams/{team}/members/{bob}", token=alice_token).status_code == 204
    )
    one_line_error(server.api("GET", f"/teams/{team}/members", token=bob_token), 404)
    one_line_error(server.api("DELETE", f"/teams/{team}/members/{bob}", token=alice_token), 404)
    emails = [m["email"] for m in server.api("GET", f"/teams/{team}/members").json()]
    assert bob not in emails

    # Teams are made by site admins; team names are DNS labels.
    one_line_error(server.api("POST", "/teams", token=alice_token, json={"name": "mine"}), 403)
    one_line_error(server.api("POST", "/teams", json={"name": team}), 409, "conflict")


def test_the_audit_log_records_changes_and_no_secret(server: RunningServer) -> None:
    email, first = new_user(server)
    team = new_team(server)
    assert (
        server.api("PUT", f"/teams/{team}/members/{email}", json={"role": "admin"}).status_code
        == 200
    )
    password = f"audit {secrets.token_hex(8)}"
    assert (
        server.api("PUT", "/me/password", token=first, json={"password": password}).status_code
        == 204
    )
    made = server.api("POST", "/tokens", token=first, json={"name": "deploy-bot"}).json()
    invite = server.api(
        "POST", f"/teams/{team}/invites", token=first, json={"role": "viewer"}
    ).json()
    joiner_password = f"joiner {secrets.token_hex(8)}"
    joiner = f"{unique('joiner')}@example.com"
    accepted = server.api(
        "POST",
        "/invites/accept",
        token="",
        json={"code": invite["code"], "email": joiner, "password": joiner_password},
    ).json()
    reset = f"reset {secrets.token_hex(8)}"
    assert (
        server.api("PUT", f"/users/{joiner}/password", json={"password": reset}).status_code == 204
    )
    assert server.api("DELETE", f"/teams/{team}/members/{joiner}", token=first).status_code == 204

    log = server.api("GET", f"/teams/{team}/audit", token=first)
    assert log.status_code == 200
    entries = log.json()
    actions = [(e["actor"], e["action"]) for e in entries]
    assert actions == [
        (email, "member.remove"),
        (joiner, "invite.accept"),
        (email, "invite.create"),
        (ADMIN, "member.set"),
        (ADMIN, "team.create"),
    ]
    assert entries[0]["detail"] == {"email": joiner}
    assert entries[2]["detail"] == {"role": "viewer"}
    assert all(e["address"] == "127.0.0.1" and e["at"].endswith("Z") for e in entries)
    assert server.api("GET", f"/teams/{team}/audit?limit=2", token=first).json() == entries[:2]
    assert {e["team"] for e in entries} == {team}

    # A site admin sees the server's whole log, the changes no team owns included; a
    # team admin who is not a site admin does not.
    answer = server.api("GET", "/audit?limit=1000")
    assert answer.status_code == 200, answer.text
    site = answer.json()
    mine = {(e["actor"], e["action"], e["team"]) for e in site}
    assert (email, "password.set", None) in mine and (email, "token.create", None) in mine
    assert (ADMIN, "user.reset-password", None) in mine and (email, "member.remove", team) in mine
    assert server.api("GET", "/audit", token=first).status_code == 403

    secrets_used = [
        password,
        joiner_password,
        reset,
        first,
        made["token"],
        accepted["token"],
        invite["code"],
    ]
    with database_of(server) as session:
        everything = json.dumps(
            [
                [e.actor, e.address, e.team_id, e.app, e.action, e.detail]
                for e in session.scalars(select(AuditEntry))
            ]
        )
        token_digests = [t.digest for t in session.scalars(select(Token))]
    assert "token.create" in everything and "user.reset-password" in everything
    assert "password.set" in everything
    for secret in [*secrets_used, *token_digests]:
        assert secret not in everything
        assert secret not in log.text
        assert secret not in server.logs()
    users = server.api("GET", "/users")
    assert "hash" not in users.text and "argon2" not in users.text
    assert {"email": joiner, "site_admin": False, "password_set": True}.items() <= next(
        u for u in users.json() if u["email"] == joiner
    ).items()


BAD_INPUT = [
    # (what, method, path, request options, status, kind)
    (
        "malformed JSON",
        "POST",
        "/tokens",
        {"content": b'{"name": ', "headers": {"content-type": "application/json"}},
        422,
        "invalid",
    ),
    (
        "not JSON at all",
        "POST",
        "/teams",
        {"content": b"name=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        422,
        "invalid",
    ),
    ("an unknown field", "POST", "/tokens", {"json": {"name": "x", "admin": True}}, 422, "invalid"),
    ("a wrong type", "POST", "/tokens", {"json": {"name": ["x"]}}, 422, "invalid"),
    (
        "a body too large",
        "POST",
        "/tokens",
        {"json": {"name": "x" * (2 * 1024 * 1024)}},
        413,
        "invalid",
    ),
    ("a bad email", "POST", "/users", {"json": {"email": "not-an-email"}}, 400, "invalid"),
    (
        "an email with a newline",
        "POST",
        "/users",
        {"json": {"email": "a@b.com\nX-Evil: 1"}},
        400,
        "invalid",
    ),
    (
        "a team name that is no DNS label",
        "POST",
        "/teams",
        {"json": {"name": "Bad_Name"}},
        400,
        "invalid",
    ),
    ("a team name too long", "POST", "/teams", {"json": {"name": "a" * 64}}, 400, "invalid"),
    ("an unknown role", "POST", "/teams/main/invites", {"json": {"role": "god"}}, 422, "invalid"),
    ("a token id that is no number", "DELETE", "/tokens/abc", {}, 422, "invalid"),
    ("an unknown route", "GET", "/nowhere", {}, 404, "not-found"),
    ("a newline in a team name", "GET", "/teams/a%0Ab%1B[31m/members", {}, 404, "not-found"),
    (
        "a newline in an email",
        "PUT",
        "/teams/main/members/a%0Ab@example.com",
        {"json": {"role": "viewer"}},
        404,
        "not-found",
    ),
    ("a wrong method", "PATCH", "/tokens", {}, 405, "invalid"),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "status", "kind"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_a_one_line_json_error(
    server: RunningServer,
    method: str,
    path: str,
    options: dict[str, object],
    status: int,
    kind: str,
) -> None:
    before = server.api("GET", "/users").json()
    teams_before = server.api("GET", "/teams").json()
    one_line_error(server.api(method, path, **options), status, kind)
    assert server.api("GET", "/users").json() == before  # nothing half-made
    assert server.api("GET", "/teams").json() == teams_before


def test_a_token_in_the_url_is_refused(server: RunningServer) -> None:
    for query in ("token", "access_token"):
        answer = server.api("GET", f"/teams?{query}={server.admin_token}", token="")
        assert "Authorization header" in one_line_error(answer, 400, "invalid")
        with_header = server.api("GET", f"/teams?{query}={server.admin_token}")
        one_line_error(with_header, 400, "invalid")
    assert server.admin_token not in server.logs()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer shp_short",
        "Token abc",
        "Basic !!!",
        "Basic " + "eDp5" * 2,
        "Bearer " + "shp_" + "A" * 43,
    ],
)
def test_bad_credentials_are_401(server: RunningServer, header: str) -> None:
    answer = server.api("GET", "/whoami", token="", headers={"Authorization": header})
    one_line_error(answer, 401, "unauthenticated")
