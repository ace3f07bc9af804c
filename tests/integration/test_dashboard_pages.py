"""Issue 14: the dashboard's teams and API tokens pages, through a real server process.

A browser is an HTTP client keeping cookies: it signs in through the dashboard's form,
reads each page's CSRF field and sends it back with its forms. The server decides what a
viewer may do; the pages only hide what would be refused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from tests.helpers.dashboard import PASSWORD, Visitor
from tests.helpers.server import ADMIN, RunningServer, running_server

pytestmark = pytest.mark.integration

INVITE = re.compile(r"http://[^\s<\"]+/invite/(shp_[A-Za-z0-9_-]{43})")
TOKEN = re.compile(r"shp_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("dashboard")) as running:
        set_password = running.api("PUT", "/me/password", json={"password": PASSWORD})
        assert set_password.status_code == 204, set_password.text
        yield running


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Visitor]:
    browser = Visitor(server)
    browser.sign_in(ADMIN)
    yield browser
    browser.client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def new_team(admin: Visitor) -> str:
    """A team made through the dashboard's form (the admin owns it)."""
    name = unique("team")
    admin.get("/teams")
    made = admin.post("/teams", name=name)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/teams/{name}"
    return name


def invite(admin: Visitor, team: str, role: str) -> str:
    """The code of a new invite, read from the link the page shows once."""
    admin.get(f"/teams/{team}")
    page = admin.post(f"/teams/{team}/invites", role=role)
    assert page.status_code == 200, page.text
    found = INVITE.search(page.text)
    assert found, page.text
    assert "shipway_flash" not in page.headers.get("set-cookie", "")
    return found.group(1)


def member(server: RunningServer, team: str, role: str) -> tuple[Visitor, str]:
    """A new user who joined ``team`` as ``role`` through an invite link, signed in."""
    admin = Visitor(server)
    admin.sign_in(ADMIN)
    code = invite(admin, team, role)
    admin.client.close()
    browser, email = Visitor(server), f"{unique('user')}@example.com"
    joined = browser.join(code, email)
    assert joined.status_code == 303, joined.text
    return browser, email


def roles(server: RunningServer, team: str) -> dict[str, str]:
    listed = server.api("GET", f"/teams/{team}/members")
    assert listed.status_code == 200, listed.text
    return {row["email"]: row["role"] for row in listed.json()}


def test_the_teams_page_lists_the_visitors_teams_and_a_team_its_members(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    page = admin.get(f"/teams/{team}")
    assert page.status_code == 200
    assert "Team created." in page.text  # the flash, once
    assert f'data-member="{ADMIN}"' in page.text
    assert "team.create" in page.text  # the audit log
    assert "Team created." not in admin.get(f"/teams/{team}").text
    teams = admin.get("/teams")
    assert teams.status_code == 200
    assert f'href="/teams/{team}"' in teams.text and 'href="/teams/main"' in teams.text
    assert 'action="/teams"' in teams.text  # a site admin may make teams
    spanish = admin.client.get(f"/teams/{team}", headers={"Accept-Language": "es"})
    assert "Miembros" in spanish.text and "propietario" in spanish.text


def test_an_invite_link_is_shown_once_and_joins_a_new_user(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    code = invite(admin, team, "member")
    assert code not in admin.get(f"/teams/{team}").text
    browser, email = Visitor(server), f"{unique('new')}@example.com"
    joined = browser.join(code, email)
    assert joined.status_code == 303 and joined.headers["location"] == "/apps"
    assert f'href="/teams/{team}"' in browser.get("/teams").text
    assert roles(server, team)[email] == "member"
    again = Visitor(server).join(code, f"{unique('late')}@example.com")
    assert again.status_code == 404  # one use


def test_a_manager_changes_a_role_and_removes_a_member_after_confirming(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    _browser, email = member(server, team, "member")
    admin.get(f"/teams/{team}")
    changed = admin.post(f"/teams/{team}/role", email=email, role="viewer")
    assert changed.status_code == 303, changed.text
    assert roles(server, team)[email] == "viewer"

    confirm = admin.get(f"/teams/{team}/remove?email={email}")
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.text
    unconfirmed = admin.post(f"/teams/{team}/remove", email=email)
    assert unconfirmed.status_code == 400
    assert email in roles(server, team)
    removed = admin.post(f"/teams/{team}/remove", email=email, confirm="yes")
    assert removed.status_code == 303, removed.text
    assert email not in roles(server, team)
    assert "member.remove" in admin.get(f"/teams/{team}").text


def test_a_viewer_sees_no_forms_that_would_fail_and_the_server_refuses_them(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    viewer, email = member(server, team, "viewer")
    page = viewer.get(f"/teams/{team}")
    assert page.status_code == 200
    assert f'data-member="{ADMIN}"' in page.text and f'data-member="{email}"' in page.text
    for form in ("/role", "/remove", "/invites", "Audit log"):
        assert form not in page.text
    assert 'action="/teams"' not in viewer.get("/teams").text  # not a site admin

    refused = viewer.post(f"/teams/{team}/role", email=email, role="admin")
    assert refused.status_code == 403 and "<html" in refused.text
    assert viewer.post(f"/teams/{team}/invites", role="viewer").status_code == 403
    assert viewer.get(f"/teams/{team}/remove?email={ADMIN}").status_code == 403
    assert viewer.post("/teams", name=unique("mine")).status_code == 403
    assert roles(server, team)[email] == "viewer"


def test_another_teams_page_is_not_found_like_a_missing_one(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    outsider, _email = member(server, team, "admin")
    others = outsider.get("/teams/main")
    missing = outsider.get("/teams/no-such-team")
    assert others.status_code == missing.status_code == 404
    assert "no team main" in others.text and ADMIN not in others.text.split("<main")[1]
    assert outsider.post("/teams/main/invites", role="viewer").status_code == 404
    assert outsider.post("/teams/main/role", email=ADMIN, role="viewer").status_code == 404


def test_a_new_token_is_shown_once_escaped_and_revoked(
    server: RunningServer, admin: Visitor
) -> None:
    admin.get("/tokens")
    made = admin.post("/tokens", name="<script>alert(1)</script>", expires_in_days="30")
    assert made.status_code == 200, made.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in made.text
    assert "<script>alert" not in made.text
    [value] = set(TOKEN.findall(made.text))
    assert server.api("GET", "/whoami", token=value).status_code == 200

    listed = admin.get("/tokens")
    assert value not in listed.text and value[:12] in listed.text
    assert "this browser" in listed.text  # the sign-in's own token, marked
    token_id = re.search(r'data-token="(\d+)"[^>]*>\s*<th scope="row">&lt;script', listed.text)
    assert token_id, listed.text
    revoked = admin.post(f"/tokens/{token_id.group(1)}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"] == "/tokens"
    assert server.api("GET", "/whoami", token=value).status_code == 401
    assert admin.get("/tokens").status_code == 200  # another token: still signed in


def test_revoking_the_current_sign_in_signs_that_browser_out(
    server: RunningServer, admin: Visitor
) -> None:
    page = admin.get("/tokens")
    current = re.search(r'data-token="(\d+)" class="current"', page.text)
    assert current, page.text
    out = admin.post(f"/tokens/{current.group(1)}/revoke")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    after = admin.get("/apps")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_a_form_without_the_sessions_csrf_is_refused_and_changes_nothing(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    other = Visitor(server)
    other.sign_in(ADMIN)
    before = len(server.api("GET", "/tokens").json())
    admin.get(f"/teams/{team}")
    for csrf in ("", "not-the-token", "0" * 64):
        assert admin.post("/tokens", csrf=csrf, name="sneaky").status_code == 403
        assert admin.post(f"/teams/{team}/invites", csrf=csrf, role="owner").status_code == 403
        made = admin.post("/teams", csrf=csrf, name=unique("sneaky"))
        assert made.status_code == 403
    # Another session's CSRF token is not this one's.
    stolen = admin.post(f"/teams/{team}/role", csrf=other.csrf, email=ADMIN, role="viewer")
    assert stolen.status_code == 403
    assert len(server.api("GET", "/tokens").json()) == before
    assert roles(server, team) == {ADMIN: "owner"}
    assert "invite.create" not in admin.get(f"/teams/{team}").text


def test_the_servers_log_holds_no_secret_a_page_showed(
    server: RunningServer, admin: Visitor
) -> None:
    team = new_team(admin)
    code = invite(admin, team, "viewer")
    admin.get("/tokens")
    value = TOKEN.findall(admin.post("/tokens", name="ci").text)[0]
    log = server.logs()
    assert code not in log and value not in log and PASSWORD not in log


def test_the_session_cookie_is_http_only_same_site_and_secure_over_https(
    server: RunningServer,
) -> None:
    for forwarded, secure in (("http", False), ("https", True)):
        visitor = Visitor(server)
        visitor.client.headers["X-Forwarded-Proto"] = forwarded
        form = visitor.get("/login")
        # This client talks plain HTTP, so it would keep a Secure cookie to itself.
        pre = re.search(r"shipway_signin_csrf=([^;]+)", form.headers["set-cookie"])
        assert pre
        visitor.client.cookies.set("shipway_signin_csrf", pre[1])
        answer = visitor.post("/login", email=ADMIN, password=PASSWORD)
        assert answer.status_code == 303, answer.text
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("shipway_session=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/"} <= flags, cookie
        assert ("secure" in flags) is secure, cookie
        page = visitor.get("/tokens")
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_signing_in_never_sends_the_user_to_another_site(
    server: RunningServer, target: str
) -> None:
    visitor = Visitor(server)
    visitor.get("/login")
    answer = visitor.post("/login", email=ADMIN, password=PASSWORD, next=target)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/apps"


def test_failed_sign_ins_are_limited(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("limited")) as fresh:
        visitor = Visitor(fresh)
        visitor.get("/login")
        answers = [
            visitor.post("/login", email=ADMIN, password="not the password").status_code
            for _ in range(6)
        ]
        assert answers == [401] * 5 + [429]
        page = visitor.get("/login")
        assert page.status_code == 200
        refused = visitor.post("/login", email=ADMIN, password=PASSWORD)
        assert refused.status_code == 429 and "too many failed sign-ins" in refused.text
        assert "shipway_session" not in refused.headers.get("set-cookie", "")
