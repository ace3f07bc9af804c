"""Heroku's lifecycle verbs: create, addons:create, addons:destroy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.apps_cmd import AppName, Context, Namespace, Timeout, print_released, target_of
from shipway.cli.common import JsonFlag, app, err, out, print_json
from shipway.cli.progress import RichProgress
from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.releasing import Outcome


@app.command("create")
def create_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """Create an app before its first deploy (then addons:create, config:set, deploy)."""
    from shipway import lifecycle

    target = target_of(name, context, namespace)
    lifecycle.create(target)
    if as_json:
        print_json({"app": name, "namespace": target.namespace})
        return
    out.print(f"created {name} (namespace {target.namespace}); deploy it with shipway deploy DIR")


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
    from shipway import lifecycle

    request = lifecycle.parse_addon(addon, storage, env_var)
    target = target_of(name, context, namespace)
    with RichProgress(enabled=not as_json) as progress:
        outcome = lifecycle.add_addon(target, request, timeout, progress)
    _report(outcome, as_json, f"added {request.kind} to {name}")


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
    target = target_of(name, context, namespace)
    with RichProgress(enabled=not as_json) as progress:
        outcome = lifecycle.remove_addon(target, kind, timeout, progress)
    _report(outcome, as_json, f"removed {kind} from {name}")


def _report(outcome: Outcome | None, as_json: bool, done: str) -> None:
    if outcome is not None:
        print_released(outcome, as_json, done)
    elif as_json:
        print_json({"release": None})
    else:
        out.print(f"{done}; the first deploy provisions it")
