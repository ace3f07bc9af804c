"""Remote mode's account verbs: login, logout, whoami, teams, members, invites, tokens,
passwords, users and the audit log, each a request to the team server.

Default output never shows a token, except the one-time prints of the commands that
make one (``tokens:create``, ``users:create``, ``invites:create``'s link).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipway.cli.common import JsonFlag, app, err, out, print_json, table
from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.cli.remote import Login, Remote

Team = Annotated[str, typer.Argument(help="The team's name.")]
Email = Annotated[str, typer.Argument(help="The user's email.")]
RoleOption = Annotated[str, typer.Option(help="owner, admin, member or viewer.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (no prompt).")
]


def _login() -> Login:
    from shipway.cli.remote import required

    return required()


def _remote() -> Remote:
    from shipway.cli.remote import Remote

    return Remote(_login())


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise ShipwayError(f"no {what} on stdin")
    return line


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return _stdin_line("password")
    password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return password


def _rows(*headers: str, rows: list[list[str]]) -> None:
    grid = table(*headers, box=None, pad_edge=False)
    for row in rows:
        grid.add_row(*row)
    out.print(grid)


@app.command("login")
def login_cmd(
    url: Annotated[str, typer.Argument(help="The server, e.g. https://shipway.example.com.")],
    email: Annotated[str | None, typer.Option(help="Your email [default: prompted].")] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read an API token from stdin instead.")
    ] = False,
    password_stdin: PasswordStdin = False,
    as_json: JsonFlag = False,
) -> None:
    """Sign in to a Shipway server: later commands go through it (remote mode)."""
    from shipway.cli import netrc_file
    from shipway.cli.remote import Login, Remote, check_url, save

    url = check_url(url)
    if token_stdin:
        token = _stdin_line("token").strip()
    else:
        email = email or typer.prompt("Email")
        if password_stdin:
            password = _stdin_line("password")
        else:
            password = typer.prompt("Password", hide_input=True)
        answer = Remote(Login(url, "")).request(
            "POST", "/login", json={"email": email, "password": password}
        )
        token = str(answer["token"])
    me = Remote(Login(url, token)).request("GET", "/whoami")
    login = Login(url, token, str(me["email"]))
    _forget_previous(login)
    save(login)
    netrc = netrc_file.save_entry(login.host, login.email, token)
    if as_json:
        print_json({"url": url, "email": login.email, "netrc": str(netrc)})
        return
    out.print(f"logged in to {url} as {login.email}")
    err.print(f"(the token is saved for git in {netrc}, for host {login.host})")


def _forget_previous(login: Login) -> None:
    """A login to another host replaces the saved one: its ~/.netrc entry goes too."""
    from shipway.cli import netrc_file
    from shipway.cli.remote import saved

    try:
        previous = saved()
    except ShipwayError:
        return  # an unreadable login file: overwritten next
    if previous is not None and previous.host != login.host:
        netrc_file.remove_entry(previous.host, previous.token)


@app.command("logout")
def logout_cmd(
    revoke: Annotated[
        bool | None,
        typer.Option(
            "--revoke/--keep-token",
            help="Revoke the token on the server [default: if shipway login made it].",
        ),
    ] = None,
) -> None:
    """Sign out: forget the saved login and its ~/.netrc entry; revoke a token login made."""
    from shipway.cli import netrc_file
    from shipway.cli.remote import forget

    login = _login()
    if revoke is not False:
        _revoke_own(login, revoke is True)
    forget()
    netrc_file.remove_entry(login.host, login.token)
    out.print(f"logged out of {login.url}")


def _revoke_own(login: Login, always: bool) -> None:
    """Revoke the token in use when asked to, or when ``shipway login`` made it with a
    password (a token given with --token-stdin may be in use elsewhere: it stays)."""
    from shipway.cli.remote import Remote
    from shipway.errors import TemporaryError, Unauthenticated

    remote = Remote(login, timeout=30)
    try:
        current = next(t for t in remote.request("GET", "/tokens") if t["current"])
        if always or str(current["name"]).startswith("login from "):
            remote.request("DELETE", f"/tokens/{current['id']}")
            err.print(f"revoked token {current['prefix']}… ({current['name']})")
    except Unauthenticated:
        pass  # revoked or expired already
    except (TemporaryError, StopIteration) as exc:
        err.print(f"warning: could not revoke the token on the server ({exc or 'not listed'})")


@app.command("whoami")
def whoami_cmd(as_json: JsonFlag = False) -> None:
    """Who you are signed in as, on which server, in which teams."""
    remote = _remote()
    me = remote.request("GET", "/whoami")
    if as_json:
        print_json({"url": remote.login.url, **me})
        return
    admin = " (site admin)" if me["site_admin"] else ""
    out.print(f"{me['email']}{admin} on {remote.login.url}")
    for team, role in sorted(me["teams"].items()):
        out.print(f"  {team}: {role}")


@app.command("teams")
def teams_cmd(as_json: JsonFlag = False) -> None:
    """Your teams and your role in each."""
    found = _remote().request("GET", "/teams")
    if as_json:
        print_json(found)
        return
    if not found:
        out.print("no teams yet: a site admin makes one with shipway teams:create")
        return
    _rows("TEAM", "ROLE", rows=[[t["name"], t["role"]] for t in found])


@app.command("teams:create")
def teams_create_cmd(
    name: Annotated[str, typer.Argument(help="A DNS label: lowercase letters, digits, '-'.")],
    owner: Annotated[str | None, typer.Option(help="Its first owner [default: you].")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a team (site admins); its owner then adds members."""
    made = _remote().request("POST", "/teams", json={"name": name, "owner": owner})
    if as_json:
        print_json(made)
        return
    out.print(f"created team {made['name']}, owned by {made['owner']}")


@app.command("members")
def members_cmd(team: Team, as_json: JsonFlag = False) -> None:
    """The members of a team and their roles."""
    found = _remote().request("GET", f"/teams/{team}/members")
    if as_json:
        print_json(found)
        return
    _rows("EMAIL", "ROLE", rows=[[m["email"], m["role"]] for m in found])


@app.command("members:add")
def members_add_cmd(
    team: Team, email: Email, role: RoleOption = "member", as_json: JsonFlag = False
) -> None:
    """Add a user to a team, or change their role there."""
    path = f"/teams/{team}/members/{email.strip()}"
    made = _remote().request("PUT", path, json={"role": role})
    if as_json:
        print_json(made)
        return
    out.print(f"{made['email']} is now {made['role']} of {made['team']}")


@app.command("members:remove")
def members_remove_cmd(team: Team, email: Email) -> None:
    """Remove a member from a team."""
    _remote().request("DELETE", f"/teams/{team}/members/{email.strip()}")
    out.print(f"removed {email.strip().lower()} from {team}")


@app.command("invites:create")
def invites_create_cmd(team: Team, role: RoleOption = "member", as_json: JsonFlag = False) -> None:
    """Make a one-time invite link to a team (expires in a week); prints it once."""
    remote = _remote()
    made = remote.request("POST", f"/teams/{team}/invites", json={"role": role})
    link = remote.login.url + made["path"]
    if as_json:
        print_json({**made, "url": link})
        return
    out.print(link)
    err.print(f"(joins {made['team']} as {made['role']}; one use, until {made['expires_at']})")


@app.command("tokens")
def tokens_cmd(as_json: JsonFlag = False) -> None:
    """Your API tokens (their prefixes; a token's value is shown only when made)."""
    found = _remote().request("GET", "/tokens")
    if as_json:
        print_json(found)
        return
    rows = [
        [
            str(t["id"]),
            ("* " if t["current"] else "") + t["name"],
            f"{t['prefix']}…",
            t["state"],
            _day(t["last_used_at"]) or "never",
            _day(t["expires_at"]) or "never",
        ]
        for t in found
    ]
    _rows("ID", "NAME", "PREFIX", "STATE", "LAST USED", "EXPIRES", rows=rows)
    if any(t["current"] for t in found):
        err.print("(* the token in use here)")


def _day(moment: str | None) -> str:
    return moment[:10] if moment else ""


@app.command("tokens:create")
def tokens_create_cmd(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'ci'.")],
    expires_in_days: Annotated[
        int | None, typer.Option(help="Days until it expires [default: never].")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make an API token (for CI, scripts); prints its value once."""
    body: dict[str, Any] = {"name": name, "expires_in_days": expires_in_days}
    made = _remote().request("POST", "/tokens", json=body)
    if as_json:
        print_json(made)
        return
    out.print(made["token"])
    err.print(f"(token {made['id']} '{made['name']}': shown once, keep it safe)")


@app.command("tokens:revoke")
def tokens_revoke_cmd(
    token_id: Annotated[int, typer.Argument(help="Its ID (shipway tokens).")],
) -> None:
    """Revoke one of your API tokens."""
    _remote().request("DELETE", f"/tokens/{token_id}")
    out.print(f"revoked token {token_id}")


@app.command("passwd")
def passwd_cmd(password_stdin: PasswordStdin = False) -> None:
    """Set your password on the server (then shipway login URL works with it)."""
    remote = _remote()
    if password_stdin:
        current, password = _stdin_line("current password"), _stdin_line("new password")
    else:
        current = typer.prompt(
            "Current password (empty if you have none yet)",
            hide_input=True,
            default="",
            show_default=False,
        )
        password = _new_password(False)
    body = {"current_password": current or None, "password": password}
    remote.request("PUT", "/me/password", json=body)
    out.print("password set")


@app.command("users")
def users_cmd(as_json: JsonFlag = False) -> None:
    """Every user of the server (site admins)."""
    found = _remote().request("GET", "/users")
    if as_json:
        print_json(found)
        return
    rows = [
        [
            u["email"],
            "yes" if u["site_admin"] else "",
            "yes" if u["password_set"] else "no",
            u["created_at"] or "",
        ]
        for u in found
    ]
    _rows("EMAIL", "SITE ADMIN", "PASSWORD", "CREATED", rows=rows)


@app.command("users:create")
def users_create_cmd(
    email: Email,
    site_admin: Annotated[bool, typer.Option("--site-admin", help="Make a site admin.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a user (site admins); prints a token for their first sign-in, once."""
    made = _remote().request("POST", "/users", json={"email": email, "site_admin": site_admin})
    if as_json:
        print_json(made)
        return
    out.print(made["token"])
    err.print(
        f"(created {made['email']}: give them this token, shown once; they sign in with "
        "shipway login URL --token-stdin, then set a password with shipway passwd)"
    )


@app.command("users:reset-password")
def users_reset_password_cmd(email: Email, password_stdin: PasswordStdin = False) -> None:
    """Set another user's password (site admins)."""
    remote = _remote()
    password = _new_password(password_stdin)
    remote.request("PUT", f"/users/{email.strip()}/password", json={"password": password})
    out.print(f"password of {email.strip().lower()} set; they should change it with shipway passwd")


@app.command("audit")
def audit_cmd(
    team: Annotated[
        str | None,
        typer.Argument(help="The team's name [default: every change, for site admins]."),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """What changed, who did it, when and from where: a team's or the whole server's.

    A team's log is for its admins; without TEAM, every change on the server (users,
    tokens and passwords included) is for site admins."""
    path = f"/teams/{team}/audit" if team else "/audit"
    found = _remote().request("GET", path, params={"limit": limit})
    if as_json:
        print_json(found)
        return
    for e in found:
        detail = {**e["detail"], "app": e["app"], **({} if team else {"team": e.get("team")})}
        words = " ".join(f"{k}={v}" for k, v in sorted(detail.items()) if v not in (None, ""))
        when = e["at"][:16].replace("T", " ")
        out.print(f"{when}  {e['actor']} ({e['address']})  {e['action']}  {words}", soft_wrap=True)
