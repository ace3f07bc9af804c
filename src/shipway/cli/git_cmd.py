"""Remote mode's git verbs (issue 13): ``git:remote`` (the ``shipway`` remote a push
deploys through), ``git:settings`` (deploy branch, subdirectory, review apps, upstream),
``git:webhook`` (a new secret and the hook URLs), ``git:credential`` (the token the
server fetches with) and ``git:deliveries`` (what became of each delivery). They exist
only on a server: direct mode has no repositories and nothing to receive a webhook.

A secret is printed once, and only where it cannot end up in a log by accident: to a
terminal, or on request (``--json``). A token is read from a prompt or stdin, never from
the command line (shell history, ``ps``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.common import JsonFlag, app, err, out, print_json
from shipway.errors import ShipwayError, excerpt

OptionalApp = Annotated[
    str | None,
    typer.Argument(help="The app's name [default: the app in the current directory]."),
]


def _app(name: str | None) -> str:
    if name:
        return name
    from shipway.cli.app_name import app_name

    return app_name(Path("."))


@app.command("git:webhook")
def webhook_cmd(
    name: OptionalApp = None,
    urls_only: Annotated[
        bool, typer.Option("--urls", help="Only print the hook URLs (keep the secret).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Make a new webhook secret for the app (printed once) and print its hook URLs."""
    from shipway.cli import backend

    remote, app_name = backend.remote(), _app(name)
    if urls_only:
        base = remote.login.url.rstrip("/")
        urls = {p: f"{base}/hooks/{p}/{app_name}" for p in ("github", "gitlab", "generic")}
        if as_json:
            print_json({"app": app_name, "urls": urls})
        else:
            _print_urls(urls)
        return
    if not as_json and not sys.stdout.isatty():
        raise ShipwayError("the new secret is printed once: run this in a terminal, or add --json")
    made = remote.request("POST", f"/apps/{app_name}/git/webhook-secret")
    if as_json:
        print_json(made)
        return
    out.print(f"secret: {made['secret']}")
    _print_urls(made["urls"])
    err.print(
        "(the secret is shown once; the previous one no longer verifies. Give the host the "
        "URL, content type application/json and this secret)"
    )


def _print_urls(urls: dict[str, str]) -> None:
    for provider, url in urls.items():
        out.print(f"{provider + ':':<9}{url}", soft_wrap=True)


@app.command("git:credential")
def credential_cmd(
    name: OptionalApp = None,
    username: Annotated[
        str | None,
        typer.Option(help="The user the host wants with the token [default: x-access-token]."),
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from stdin (no prompt).")
    ] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Forget the credential.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set the token the server fetches the app's repository with (HTTPS), or remove it."""
    from shipway.cli import backend

    remote, app_name = backend.remote(), _app(name)
    token: str | None = None
    if not remove:
        token = sys.stdin.readline().strip() if token_stdin else _prompted()
        if not token:
            raise ShipwayError("no token given (use --remove to forget the credential)")
    body = {"token": token, "username": username}
    done = remote.request("PUT", f"/apps/{app_name}/git/credential", json=body)
    if as_json:
        print_json(done)
        return
    if done["credential"] == "set":
        out.print(f"{app_name}: fetches with the token as {done['username']}")
    else:
        out.print(f"{app_name}: fetches without a credential")


def _prompted() -> str:
    token: str = typer.prompt("Token", hide_input=True)
    return token


@app.command("git:deliveries")
def deliveries_cmd(
    name: OptionalApp = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The app's webhook deliveries, newest first: what became of each and why."""
    from shipway.cli import backend

    found = backend.remote().request(
        "GET", f"/apps/{_app(name)}/git/deliveries", params={"limit": limit}
    )
    if as_json:
        print_json(found)
        return
    if not found:
        out.print("no deliveries yet")
        return
    # One line each, as the audit log prints (a table would squash the reasons).
    for d in found:
        when = d["received_at"][:19].replace("T", " ")
        words = [f"#{d['id']}", when, d["provider"], d["event"], d["outcome"]]
        if d["deploy"]:
            words.append(f"deploy {d['deploy']} of {d['target']}")
        elif d["target"] and d["target"] != d["app"]:
            words.append(d["target"])
        if d["commit"]:
            words.append(d["commit"][:12])
        if d["reason"]:
            words.append(f"({d['reason']})")
        out.print("  ".join(words), soft_wrap=True)


@app.command("git:remote")
def remote_cmd(
    name: OptionalApp = None,
    remote_name: Annotated[
        str, typer.Option("--remote", "-r", help="The git remote's name.")
    ] = "shipway",
    as_json: JsonFlag = False,
) -> None:
    """Add the app's repository on the server as a git remote (git push shipway main)."""
    from shipway.cli import backend

    app_name, remote = _app(name), backend.remote()
    settings = remote.request("GET", f"/apps/{app_name}/git")  # the app exists, readable
    url = repository_url(remote.login.url, app_name)
    add_remote(Path("."), remote_name, url)
    if as_json:
        print_json({"app": app_name, "remote": remote_name, "url": url})
        return
    out.print(f"set git remote {remote_name} to {url}", soft_wrap=True)
    err.print(f"deploy with: git push {remote_name} {settings['branches'][0]}")


def repository_url(server_url: str, app_name: str) -> str:
    """The app's repository as the user reaches the server (not as it sees itself)."""
    return f"{server_url.rstrip('/')}/{app_name}.git"


def remote_here(server_url: str, app_name: str) -> str | None:
    """Add the ``shipway`` remote for a new app when the current directory is in a git
    work tree without one; the URL added, if any."""
    here = Path(".")
    if not _in_work_tree(here) or _git(here, "remote", "get-url", "shipway").returncode == 0:
        return None
    url = repository_url(server_url, app_name)
    add_remote(here, "shipway", url)
    return url


def add_remote(work_tree: Path, remote_name: str, url: str) -> None:
    """``git remote add`` (or ``set-url``, if the remote exists) in ``work_tree``."""
    if not _REMOTE_NAME.fullmatch(remote_name):
        raise ShipwayError("--remote: a remote's name is letters, digits, '.', '_' and '-'")
    if not _in_work_tree(work_tree):
        raise ShipwayError("not in a git repository: run git init first (or cd into one)")
    exists = _git(work_tree, "remote", "get-url", remote_name).returncode == 0
    done = _git(work_tree, "remote", "set-url" if exists else "add", "--", remote_name, url)
    if done.returncode != 0:
        raise ShipwayError(f"git remote failed: {excerpt(done.stderr.strip(), 160)}")


def _in_work_tree(path: Path) -> bool:
    return _git(path, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@app.command("git:settings")
def settings_cmd(
    name: OptionalApp = None,
    branch: Annotated[
        str | None, typer.Option(help="The branch whose pushes deploy ('' for main or master).")
    ] = None,
    subdir: Annotated[
        str | None, typer.Option(help="The app's directory in the repository (monorepos).")
    ] = None,
    review_apps: Annotated[
        bool | None,
        typer.Option("--review-apps/--no-review-apps", help="A review app per pull request."),
    ] = None,
    forks: Annotated[
        bool | None,
        typer.Option(
            "--forks/--no-forks",
            help="Review apps for pull requests from forks too (they get the config vars).",
        ),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option(help="The repository webhooks fetch from ('' for the delivery's own)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the app's git settings, or change those given."""
    from shipway.cli import backend

    given = {"branch": branch, "subdir": subdir, "review_apps": review_apps, "forks": forks}
    changes: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if upstream is not None:
        changes["upstream"] = upstream or None
    if changes.get("branch") == "":
        changes["branch"] = None
    path = f"/apps/{_app(name)}/git"
    remote = backend.remote()
    found = remote.request("PATCH", path, json=changes) if changes else remote.request("GET", path)
    if as_json:
        print_json(found)
        return
    rows = {
        "deploy branch": " or ".join(found["branches"]),
        "subdirectory": found["subdir"] or "(the repository's root)",
        "review apps": "on" if found["review_apps"] else "off",
        "from forks": "yes" if found["forks"] else "no",
        "upstream": found["upstream"] or "(the clone URL each delivery names)",
        "git remote": found["remote"],
    }
    for key, value in rows.items():
        out.print(f"{key + ':':<15}{value}", soft_wrap=True)
