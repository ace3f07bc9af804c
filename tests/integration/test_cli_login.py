"""Issue 12: ``shipway login`` and the account verbs against a real server, with a
private HOME: the login file (0600), the ~/.netrc entry for git (other entries kept),
whoami, and logout taking both away."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipway.cli import main
from shipway.errors import ShipwayError
from tests.helpers.server import ADMIN, RunningServer

OTHER_ENTRIES = "machine github.com login me password ghp_keepme\n"
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def server(backend_server: RunningServer) -> RunningServer:
    """One server per backend for the module; each test makes its own users and teams."""
    return backend_server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    (path / ".netrc").write_text(
        OTHER_ENTRIES + "machine 127.0.0.1 login old@example.com password shp_stale\n"
    )
    (path / ".netrc").chmod(0o600)
    return path


def environment(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("SHIPWAY_URL", "SHIPWAY_TOKEN", "NETRC")
    }
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def shipway(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment(home),
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def login_file(home: Path) -> Path:
    return home / ".config" / "shipway" / "login.json"


def test_login_with_a_token_whoami_and_logout(server: RunningServer, home: Path) -> None:
    said = shipway(home, "login", server.url, "--token-stdin", stdin=server.admin_token + "\n")
    assert ok(said) == f"logged in to {server.url} as {ADMIN}\n"
    assert server.admin_token not in said.stdout + said.stderr

    saved = login_file(home)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text()) == {
        "url": server.url,
        "token": server.admin_token,
        "email": ADMIN,
    }
    netrc = home / ".netrc"
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    assert netrc.read_text() == (
        OTHER_ENTRIES + f"machine 127.0.0.1 login {ADMIN} password {server.admin_token}\n"
    )

    assert ok(shipway(home, "whoami")) == f"{ADMIN} (site admin) on {server.url}\n  main: owner\n"
    assert json.loads(ok(shipway(home, "whoami", "--json"))) == {
        "url": server.url,
        "email": ADMIN,
        "site_admin": True,
        "teams": {"main": "owner"},
    }
    tokens = ok(shipway(home, "tokens"))
    assert "* server init" in tokens and server.admin_token not in tokens

    # The same server by another name (another host): the first host's entry goes.
    other_name = server.url.replace("127.0.0.1", "localhost")
    ok(shipway(home, "login", other_name, "--token-stdin", stdin=server.admin_token))
    assert netrc.read_text() == (
        OTHER_ENTRIES + f"machine localhost login {ADMIN} password {server.admin_token}\n"
    )
    ok(shipway(home, "login", server.url, "--token-stdin", stdin=server.admin_token))

    # Logging out forgets both; a token given with --token-stdin stays valid on the server.
    assert ok(shipway(home, "logout")) == f"logged out of {server.url}\n"
    assert not saved.exists()
    assert netrc.read_text() == OTHER_ENTRIES
    assert server.api("GET", "/whoami").status_code == 200
    refused = shipway(home, "whoami")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: not logged in: shipway login URL"


def test_login_with_a_password_and_the_account_verbs(server: RunningServer, home: Path) -> None:
    made = server.api("POST", "/users", json={"email": "cli@example.com"}).json()
    answer = server.api("PUT", "/me/password", token=made["token"], json={"password": PASSWORD})
    assert answer.status_code == 204
    said = shipway(
        home, "login", server.url, "--email", "cli@example.com", "--password-stdin", stdin=PASSWORD
    )
    ok(said)
    token = json.loads(login_file(home).read_text())["token"]
    assert token != made["token"] and token not in said.stdout + said.stderr
    current = [t for t in json.loads(ok(shipway(home, "tokens", "--json"))) if t["current"]]
    assert [t["name"] for t in current] == ["login from 127.0.0.1"]

    # A token made for CI: printed once on stdout, then revocable by its ID.
    created = shipway(home, "tokens:create", "ci", "--expires-in-days", "7")
    ci = ok(created).strip()
    assert ci.startswith("shp_") and server.api("GET", "/whoami", token=ci).status_code == 200
    ci_id = next(
        t["id"] for t in json.loads(ok(shipway(home, "tokens", "--json"))) if t["name"] == "ci"
    )
    ok(shipway(home, "tokens:revoke", str(ci_id)))
    assert server.api("GET", "/whoami", token=ci).status_code == 401

    new_password = "another long passphrase"
    ok(shipway(home, "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{new_password}\n"))
    wrong = shipway(home, "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{new_password}\n")
    assert wrong.returncode == 2 and "not your current password" in wrong.stderr

    # The teams the site admin makes, as this user sees them.
    assert ok(shipway(home, "teams")).startswith("no teams yet")
    denied = shipway(home, "teams:create", "nope")
    assert denied.returncode == 2 and denied.stderr.strip() == "error: only site admins may do this"

    # Logging out revokes a token shipway login made.
    ok(shipway(home, "logout"))
    assert server.api("GET", "/whoami", token=token).status_code == 401
    assert "127.0.0.1" not in (home / ".netrc").read_text()


def test_the_admins_verbs(server: RunningServer, home: Path) -> None:
    ok(shipway(home, "login", server.url, "--token-stdin", stdin=server.admin_token))
    assert (
        ok(shipway(home, "teams:create", "cli-team"))
        == f"created team cli-team, owned by {ADMIN}\n"
    )
    user_token = ok(shipway(home, "users:create", "member@example.com")).strip()
    assert server.api("GET", "/whoami", token=user_token).json()["email"] == "member@example.com"
    assert "member@example.com" in ok(shipway(home, "users"))
    ok(
        shipway(
            home, "users:reset-password", "member@example.com", "--password-stdin", stdin=PASSWORD
        )
    )
    signed_in = server.api(
        "POST", "/login", token="", json={"email": "member@example.com", "password": PASSWORD}
    )
    assert signed_in.status_code == 200

    said = ok(shipway(home, "members:add", "cli-team", "member@example.com", "--role", "viewer"))
    assert said == "member@example.com is now viewer of cli-team\n"
    members = json.loads(ok(shipway(home, "members", "cli-team", "--json")))
    assert {"email": "member@example.com", "role": "viewer"} in members
    link = ok(shipway(home, "invites:create", "cli-team")).strip()
    assert link.startswith(f"{server.url}/invite/shp_")
    ok(shipway(home, "members:remove", "cli-team", "member@example.com"))
    audit = json.loads(ok(shipway(home, "audit", "cli-team", "--json")))
    assert [e["action"] for e in audit] == [
        "member.remove",
        "invite.create",
        "member.set",
        "team.create",
    ]
    assert link.rsplit("/", 1)[1] not in json.dumps(audit)
    table = ok(shipway(home, "audit", "cli-team"))
    assert "member.remove" in table and "email=member@example.com" in table
    # Without a team: the whole server's log (this user is a site admin), with the changes
    # no team owns, and each entry's team named.
    everything = ok(shipway(home, "audit", "--limit", "1000"))
    assert "user.reset-password" in everything and "user.create" in everything
    assert "member.remove" in everything and "team=cli-team" in everything
    assert PASSWORD not in everything and user_token not in everything

    gone = shipway(home, "members", "no-such-team")
    assert gone.returncode == 2 and gone.stderr.strip() == "error: no team no-such-team"
    ok(shipway(home, "logout"))


def test_the_password_prompt_does_not_echo(server: RunningServer, home: Path) -> None:
    made = server.api("POST", "/users", json={"email": "prompted@example.com"}).json()
    answer = server.api("PUT", "/me/password", token=made["token"], json={"password": PASSWORD})
    assert answer.status_code == 204
    result = CliRunner().invoke(
        main.app,
        ["login", server.url],
        input=f"prompted@example.com\n{PASSWORD}\n",
        env=environment(home),
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "Password:" in result.output
    assert json.loads(login_file(home).read_text())["email"] == "prompted@example.com"


@pytest.mark.parametrize(
    "verb",
    [
        ["whoami"],
        ["logout"],
        ["teams"],
        ["teams:create", "x"],
        ["members", "x"],
        ["members:add", "x", "a@example.com"],
        ["members:remove", "x", "a@example.com"],
        ["invites:create", "x"],
        ["tokens"],
        ["tokens:create", "x"],
        ["tokens:revoke", "1"],
        ["passwd"],
        ["users"],
        ["users:create", "a@example.com"],
        ["users:reset-password", "a@example.com"],
        ["audit", "x"],
    ],
)
def test_every_account_verb_needs_a_login(verb: list[str], home: Path) -> None:
    result = CliRunner().invoke(main.app, verb, env=environment(home))
    assert isinstance(result.exception, ShipwayError)
    assert str(result.exception) == "not logged in: shipway login URL"
