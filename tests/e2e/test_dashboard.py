"""Issue 14: the dashboard in a real browser (Debian's headless Chromium through
Selenium), against the session's real server on 127.0.0.1 and the real cluster.

Signing in; the apps list; a deploy watched live (its steps change state on the page
without a reload); a failing deploy's reason; config revealed to a member but not to a
viewer, values escaped; a rollback confirmed first; Spanish. Then what a browser cannot
send but an attacker can: forged and missing CSRF tokens, another team's app, an
expired session, HTML in config values and log lines. Each main page is saved as a
screenshot (``tests.helpers.browser``)."""

from __future__ import annotations

import http.client
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from sqlalchemy import select

from shipway.accounts import digest
from shipway.db.models import Token, utcnow
from tests.e2e.cli import NewApp, message_at
from tests.e2e.kube import wait_for
from tests.e2e.test_server_deploys import events, upload
from tests.helpers.browser import Browser, require_browser
from tests.helpers.dashboard import PASSWORD, Visitor
from tests.helpers.server import RunningServer
from tests.helpers.serverdb import database_of

pytestmark = pytest.mark.e2e

#: A config value that would run a script if the page did not escape it.
HOSTILE = "<img src=x onerror=\"document.title='owned'\">"


@dataclass
class User:
    email: str
    token: str


@dataclass
class Dash:
    server: RunningServer
    team: str
    owner: User
    member: User
    viewer: User
    app: str
    app_dir: Path
    url: str


def _user(server: RunningServer, team: str, role: str | None, owner: str = "") -> User:
    email = f"dash-{role or 'owner'}-{secrets.token_hex(3)}@example.com"
    made = server.api("POST", "/users", json={"email": email})
    assert made.status_code == 201, made.text
    done = server.api("PUT", f"/users/{email}/password", json={"password": PASSWORD})
    assert done.status_code == 204, done.text
    if role:
        path = f"/teams/{team}/members/{email}"
        joined = server.api("PUT", path, owner, json={"role": role})
        assert joined.status_code == 200, joined.text
    return User(email, made.json()["token"])


def _deploy(dash: Dash, token: str | None = None) -> int:
    sent = upload(dash.server, dash.app_dir, dash.app, token=token or dash.owner.token)
    assert sent.status_code == 202, sent.text
    deploy_id: int = sent.json()["deploy"]
    return deploy_id


def _outcome(dash: Dash, deploy_id: int) -> dict[str, object]:
    end = events(dash.server, deploy_id, token=dash.owner.token)[-1]
    assert end[1] == "end", end
    return end[2]


@pytest.fixture(scope="module")
def dash(team_server: RunningServer, module_app: NewApp) -> Dash:
    team = f"dash-{secrets.token_hex(3)}"
    owner = _user(team_server, team, None)
    created = team_server.api("POST", "/teams", json={"name": team, "owner": owner.email})
    assert created.status_code == 201, created.text
    member = _user(team_server, team, "member", owner.token)
    viewer = _user(team_server, team, "viewer", owner.token)
    app_dir, app = module_app("hello")
    made = team_server.api("POST", "/apps", owner.token, json={"name": app, "team": team})
    assert made.status_code == 201, made.text
    found = Dash(team_server, team, owner, member, viewer, app, app_dir, "")
    first = _outcome(found, _deploy(found))
    assert first["status"] == "finished", first
    found.url = str(first["url"])
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    with Browser() as opened:
        yield opened


def sign_in(browser: Browser, dash: Dash, user: User) -> None:
    browser.driver.delete_all_cookies()
    browser.open(f"{dash.server.url}/login")
    browser.driver.find_element(By.ID, "email").send_keys(user.email)
    browser.driver.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    browser.wait_for_text(user.email)


def step_states(browser: Browser) -> dict[str, str]:
    """Each step's state as the page shows it now."""
    try:
        return {
            item.get_attribute("id")[5:]: item.find_element(
                By.CSS_SELECTOR, ".state"
            ).get_attribute("data-status")
            for item in browser.driver.find_elements(By.CSS_SELECTOR, "ol.steps li")
        }
    except StaleElementReferenceException:  # swapped while read: read again
        return step_states(browser)


def watch_deploy(browser: Browser, dash: Dash, deploy_id: int) -> list[dict[str, str]]:
    """Open the deploy's page and record its steps' states until it ends, without ever
    reloading (a marker set in the page survives to the end)."""
    browser.open(f"{dash.server.url}/apps/{dash.app}/deploys/{deploy_id}")
    browser.driver.execute_script("window.stillTheSamePage = true")
    seen: list[dict[str, str]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        states = step_states(browser)
        if not seen or states != seen[-1]:
            seen.append(states)
        status = browser.wait_for("#deploy-status").get_attribute("data-status")
        if status in ("finished", "failed", "aborted"):
            # The end event comes after every step's: the rows now are the last ones.
            seen.append(step_states(browser))
            break
        time.sleep(0.1)
    assert browser.driver.execute_script("return window.stillTheSamePage") is True
    return seen


def test_sign_in_see_the_apps_and_watch_a_deploy_live(browser: Browser, dash: Dash) -> None:
    sign_in(browser, dash, dash.owner)
    row = browser.wait_for(f'tr[data-app="{dash.app}"]')
    assert dash.team in row.text and "running" in row.text and "v1" in row.text
    browser.screenshot("apps")

    (dash.app_dir / "app.py").write_text(
        (dash.app_dir / "app.py").read_text().replace("Hello from Shipway!", "Hello, live!")
    )
    deploy_id = _deploy(dash)
    seen = watch_deploy(browser, dash, deploy_id)
    browser.screenshot("deploy")
    assert seen[-1] == dict.fromkeys(seen[-1], "finished"), seen
    # The page saw the deploy under way, then saw it change: live, not one final render.
    assert any(set(states.values()) != {"finished"} for states in seen[:-1]), seen
    assert len(seen) >= 2, seen
    assert "rollout" in seen[-1] and "build" in seen[-1]
    log = browser.wait_for("#log").text
    assert "waiting for the rollout" in log, log
    wait_for("the new code", lambda: message_at(dash.url) == "Hello, live!", timeout=30)

    browser.open(f"{dash.server.url}/apps/{dash.app}")
    history = browser.wait_for(f'tr[data-deploy="{deploy_id}"]').text
    assert "finished" in history and dash.owner.email in history
    browser.screenshot("app")
    with browser.phone():
        browser.screenshot("app-phone")


def test_a_failing_deploy_shows_its_reason(browser: Browser, dash: Dash) -> None:
    sign_in(browser, dash, dash.member)
    app_file = dash.app_dir / "app.py"
    good = app_file.read_text()
    app_file.write_text("raise SystemExit(3)\n" + good)
    try:
        deploy_id = _deploy(dash, dash.member.token)
        watch_deploy(browser, dash, deploy_id)
    finally:
        app_file.write_text(good)
    assert browser.wait_for("#deploy-status").get_attribute("data-status") == "failed"
    reason = browser.wait_for("#deploy-reason").text
    assert re.search(r"release v\d+ failed: .*; rolled back to v\d+", reason), reason
    browser.screenshot("deploy-failed")
    assert message_at(dash.url) == "Hello, live!"  # the running release still serves


def test_config_is_revealed_to_a_member_escaped_and_never_to_a_viewer(
    browser: Browser, dash: Dash
) -> None:
    changed = dash.server.api(
        "PATCH", f"/apps/{dash.app}/config", dash.owner.token, json={"changes": {"EVIL": HOSTILE}}
    )
    assert changed.status_code == 200, changed.text

    sign_in(browser, dash, dash.viewer)
    browser.open(f"{dash.server.url}/apps/{dash.app}")
    row = browser.wait_for('tr[data-config="EVIL"]')
    assert HOSTILE not in browser.driver.page_source and "hidden" in row.text
    assert not browser.driver.find_elements(By.ID, "reveal")
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "form[action$='/config']")
    assert not browser.driver.find_elements(By.PARTIAL_LINK_TEXT, "Roll back")

    sign_in(browser, dash, dash.member)
    browser.open(f"{dash.server.url}/apps/{dash.app}")
    browser.wait_for("#reveal").click()
    value = browser.wait_for('tr[data-config="EVIL"] code.value')
    assert value.text == HOSTILE  # shown as text: the markup was escaped, never run
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "#config img")
    assert browser.driver.title != "owned"
    browser.screenshot("config-revealed")


def test_a_rollback_is_confirmed_first(browser: Browser, dash: Dash) -> None:
    sign_in(browser, dash, dash.member)
    browser.open(f"{dash.server.url}/apps/{dash.app}")
    browser.driver.find_element(By.CSS_SELECTOR, 'tr[data-release="1"] a.button').click()
    browser.wait_for("#confirm")
    assert "v1" in browser.driver.find_element(By.TAG_NAME, "h1").text
    browser.screenshot("rollback-confirm")
    browser.driver.find_element(By.ID, "confirm").click()
    browser.wait_for_text("Rolled back", timeout=180)
    newest = browser.driver.find_elements(By.CSS_SELECTOR, "tr[data-release]")[0].text
    assert "Rollback to v1" in newest and "succeeded" in newest, newest
    wait_for("v1's code", lambda: message_at(dash.url) == "Hello from Shipway!", timeout=30)


def test_the_dashboard_speaks_spanish(browser: Browser, dash: Dash) -> None:
    sign_in(browser, dash, dash.owner)
    browser.open(f"{dash.server.url}/apps/{dash.app}")
    browser.driver.find_element(By.LINK_TEXT, "Español").click()
    browser.wait_for_text("Variables de configuración")
    assert browser.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert "Versiones" in browser.text() and "Cerrar sesión" in browser.text()
    browser.screenshot("app-es")
    browser.open(f"{dash.server.url}/apps")
    browser.wait_for_text("Aplicaciones")
    browser.driver.find_element(By.LINK_TEXT, "English").click()
    browser.wait_for_text("Apps")


def test_the_team_its_audit_log_and_the_tokens(browser: Browser, dash: Dash) -> None:
    sign_in(browser, dash, dash.owner)
    browser.driver.find_element(By.LINK_TEXT, "Teams").click()
    browser.driver.find_element(By.LINK_TEXT, dash.team).click()
    members = browser.wait_for("table.members").text
    assert all(u.email in members for u in (dash.owner, dash.member, dash.viewer)), members
    # The audit log has the member's rollback and reveal, by name, and no value.
    page = browser.text()
    assert "rollback" in page and "config" in page and HOSTILE not in page
    browser.screenshot("team")
    browser.driver.find_element(By.LINK_TEXT, "API tokens").click()
    browser.wait_for_text("dashboard sign-in")
    browser.screenshot("tokens")


# -- what a browser would not send ------------------------------------------------------


def visitor(dash: Dash, user: User) -> Visitor:
    """A client signed in through the dashboard's form, keeping its cookies."""
    signed = Visitor(dash.server)
    signed.get("/login")
    answer = signed.post("/login", email=user.email, password=PASSWORD)
    assert answer.status_code == 303, answer.text
    return signed


def config_names(dash: Dash) -> dict[str, str]:
    listed = dash.server.api("GET", f"/apps/{dash.app}/config", dash.owner.token)
    return dict(listed.json())


def test_forged_or_missing_csrf_tokens_change_nothing(dash: Dash) -> None:
    member = visitor(dash, dash.member)
    before = config_names(dash)
    member.get(f"/apps/{dash.app}")
    for csrf in ("", "x" * 64):
        refused = member.post(f"/apps/{dash.app}/config", csrf, name="FORGED", value="1")
        assert refused.status_code == 403, refused.text
        assert "reload the page" in refused.text and "Traceback" not in refused.text
    # Another site's page, even with a valid token (it could not read one), is refused.
    elsewhere = member.client.post(
        f"/apps/{dash.app}/config",
        data={"csrf": member.csrf, "name": "FORGED", "value": "1"},
        headers={"Origin": "https://attacker.example"},
    )
    assert elsewhere.status_code == 403
    # A viewer's own valid token does not make a viewer a member.
    viewer = visitor(dash, dash.viewer)
    viewer.get(f"/apps/{dash.app}")
    denied = viewer.post(f"/apps/{dash.app}/config/reveal")
    assert denied.status_code == 403 and HOSTILE not in denied.text
    assert config_names(dash) == before


def test_another_teams_app_is_not_found(dash: Dash) -> None:
    other = f"other-{secrets.token_hex(3)}"
    made = dash.server.api("POST", "/apps", json={"name": other, "team": "main"})
    assert made.status_code == 201, made.text
    try:
        owner = visitor(dash, dash.owner)
        for path in (f"/apps/{other}", f"/apps/{other}/logs", f"/apps/{other}/rollback/1"):
            answer = owner.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
            assert other in answer.text or "not found" in answer.text.lower()
        assert other not in owner.get("/apps").text
        assert owner.post(f"/apps/{other}/restart").status_code == 404
    finally:
        dash.server.api("DELETE", f"/apps/{other}", json={"keep_data": False})


def test_an_expired_or_signed_out_session_signs_in_again(dash: Dash) -> None:
    viewer = visitor(dash, dash.viewer)
    assert viewer.get("/apps").status_code == 200
    secret = viewer.client.cookies["shipway_session"]
    with database_of(dash.server) as session:
        token = session.scalars(select(Token).where(Token.digest == digest(secret))).one()
        token.expires_at = utcnow() - timedelta(seconds=1)
    gone = viewer.get(f"/apps/{dash.app}")
    assert gone.status_code == 303
    assert gone.headers["location"] == f"/login?next=/apps/{dash.app}"

    again = visitor(dash, dash.viewer)
    again.get("/apps")
    assert again.post("/logout").status_code == 303
    assert again.get("/apps").status_code == 303  # the signed-out session is revoked


def test_log_lines_with_markup_are_shown_as_text(dash: Dash) -> None:
    marker = f"<b>{secrets.token_hex(4)}</b>"
    where = urlsplit(dash.url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    connection.request("GET", f"/{marker}")  # the app's access log writes the path
    connection.getresponse().read()
    viewer = visitor(dash, dash.viewer)
    escaped = marker.replace("<", "&lt;").replace(">", "&gt;")
    found = ""
    with viewer.client.stream("GET", f"/apps/{dash.app}/logs/live", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if escaped in line or marker in line:
                found = line
                break
    assert escaped in found and marker not in found, found
