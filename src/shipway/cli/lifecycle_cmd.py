"""Heroku's lifecycle verbs: create, addons:create, addons:destroy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shipway.cli.apps_cmd import AppName, Context, Namespace, Timeout, print_released
from shipway.cli.backend import perform
from shipway.cli.common import JsonFlag, app, err, out, print_json
from shipway.cli.progress import RichProgress
from shipway.errors import ShipwayError


@app.command("create")
def create_cmd(
    name: AppName,
    team: Annotated[
        str | None, typer.Option(help="The team that owns it (remote mode) [default: yours].")
    ] = None,
    git_remote: Annotated[
        bool,
        typer.Option(
            "--git-remote/--no-git-remote",
            help="In a git work tree, add the remote 'shipway' (remote mode) for git push.",
        ),
    ] = True,
    context: Context = None,
    namespace: Namespace = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an app before its first deploy (then addons:create, config:set, deploy)."""
    from shipway.cli import backend
    from shipway.ops.lifecycle import NewApp

    if backend.login() is None:
        if team:
            raise ShipwayError(
                "--team is for remote mode (shipway login): direct mode has no teams"
            )
        data = perform("create", name, NewApp(), context, namespace)
    else:
        if context or namespace:
            raise ShipwayError("--context and --namespace are for direct mode: drop them")
        remote = backend.remote()
        data = remote.request("POST", "/apps", json={"name": name, "team": team})
        from shipway.cli.git_cmd import remote_here

        added = remote_here(remote.login.url, name) if git_remote else None
        if added:  # on stderr: --json prints what direct mode prints
            err.print(f"git remote shipway: {added} (deploy with git push shipway main)")
    if as_json:
        print_json(data)
        return
    ns = data["namespace"]
    out.print(f"created {name} (namespace {ns}); deploy it with shipway deploy DIR")


@app.command("apps:import")
def import_cmd(
    name: AppName,
    team: Annotated[str, typer.Option(help="The team that will own it.")],
    as_json: JsonFlag = False,
) -> None:
    """Give an app deployed in direct mode to a team of the server (site admins)."""
    from shipway.cli import backend

    data = backend.remote().request("POST", f"/apps/{name}/import", json={"team": team})
    if as_json:
        print_json(data)
        return
    out.print(f"{name} now belongs to team {data['team']}")


@app.command("addons:create")
def addons_create_cmd(
    name: AppName,
    addon: Annotated[str, typer.Argument(help="postgresql[:VERSION], redis, mongodb …")],
    storage: Annotated[str | None, typer.Option(help="Volume size, e.g. 5Gi.")] = None,
    env_var: Annotated[
        str | None, typer.Option("--as", help="Variable for the URL [default: the addon's].")
    ] = None,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Add a backing service; a deployed app gets it at once, as a new release."""
    from shipway.ops.lifecycle import NewAddon

    request = NewAddon(addon, storage, env_var)
    with RichProgress(enabled=not as_json) as progress:
        data = perform(
            "addons:create", name, request, context, namespace, progress, timeout=timeout
        )
    _report(data, as_json, f"added {data['addon']} to {name}")


@app.command("addons:destroy")
def addons_destroy_cmd(
    name: AppName,
    addon: Annotated[str, typer.Argument(help="The addon: postgresql, redis or mongodb.")],
    confirm: Annotated[
        str | None, typer.Option(help="The app's name, to confirm without a prompt.")
    ] = None,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Remove a backing service made with addons:create, and its data."""
    from shipway import lifecycle

    kind = lifecycle.parse_addon(addon).kind
    if confirm is None:
        err.print(f"This removes the {kind} addon of {name} and DELETES its data.")
        confirm = typer.prompt("Type the app's name to confirm", default="", show_default=False)
    if confirm != name:
        raise ShipwayError("the name did not match; nothing was removed")
    from shipway.ops.lifecycle import AddonName

    with RichProgress(enabled=not as_json) as progress:
        data = perform(
            "addons:destroy", name, AddonName(kind), context, namespace, progress, timeout=timeout
        )
    _report(data, as_json, f"removed {kind} from {name}")


def _report(data: dict[str, Any], as_json: bool, done: str) -> None:
    if data["release"] is not None:
        print_released(data, as_json, done)
    elif as_json:
        print_json(data)
    else:
        out.print(f"{done}; the first deploy provisions it")


@app.command("domains")
def domains_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """The host names the app answers on: from its files, and added with domains:add."""
    from shipway.ops.table import NoArguments

    data = perform("domains", name, NoArguments(), context, namespace)
    if as_json:
        print_json(data)
        return
    for host in data["declared"]:
        out.print(f"{host} (in the app's files)")
    for host in data["added"]:
        out.print(host)


Domain = Annotated[str, typer.Argument(help="A host name, e.g. app.example.com.")]


@app.command("domains:add")
def domains_add_cmd(
    name: AppName,
    domain: Domain,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Serve the app on a host name too (through its Ingress): a new release."""
    _domain("domains:add", name, domain, context, namespace, timeout, as_json, "added")


@app.command("domains:remove")
def domains_remove_cmd(
    name: AppName,
    domain: Domain,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Stop serving the app on a host name added with domains:add: a new release."""
    _domain("domains:remove", name, domain, context, namespace, timeout, as_json, "removed")


def _domain(
    verb: str,
    name: str,
    domain: str,
    context: str | None,
    namespace: str | None,
    timeout: float,
    as_json: bool,
    done: str,
) -> None:
    from shipway.ops.lifecycle import Domain

    with RichProgress(enabled=not as_json) as progress:
        data = perform(verb, name, Domain(domain), context, namespace, progress, timeout=timeout)
    if data["release"] is not None:
        print_released(data, as_json, f"{done} {data['domain']}")
    elif as_json:
        print_json(data)
    else:
        out.print(f"{done} {data['domain']}; the first deploy uses it")
