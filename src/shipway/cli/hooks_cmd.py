"""Remote mode's webhook verbs (issue 13): ``git:webhook`` (a new secret and the hook
URLs), ``git:credential`` (the token the server fetches with) and ``git:deliveries``
(what became of each delivery). They exist only on a server: direct mode has nothing
to receive a webhook.

A secret is printed once, and only where it cannot end up in a log by accident: to a
terminal, or on request (``--json``). A token is read from a prompt or stdin, never from
the command line (shell history, ``ps``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.common import JsonFlag, app, err, out, print_json
from shipway.errors import ShipwayError

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
