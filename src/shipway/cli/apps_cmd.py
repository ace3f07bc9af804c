"""The Heroku-style verbs: deploy, releases, rollback, config, scale, ps, logs, run,
addons, apps, destroy, platform."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipway.cli.backend import perform
from shipway.cli.common import JsonFlag, app, err, out, print_json, styled, table, write_line
from shipway.cli.progress import RichProgress
from shipway.errors import ShipwayError
from shipway.ops.table import NoArguments

if TYPE_CHECKING:
    from shipway.cli.remote import Login

Context = Annotated[str | None, typer.Option(help="kubeconfig context [default: current].")]
Namespace = Annotated[str | None, typer.Option(help="[default: the app name]")]
AppName = Annotated[str, typer.Argument(help="The app's name.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for the rollout.")]


def _assignments(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments (the value may be empty, or contain '=')."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ShipwayError(f"'{item}': write KEY=VALUE")
        parsed[key] = value
    return parsed


def _show(data: dict[str, Any], as_json: bool, separator: str) -> None:
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        out.print(f"{key}{separator}{value}", highlight=False, soft_wrap=True)


@app.command("deploy")
def deploy_cmd(
    app_dir: Annotated[Path, typer.Argument(help="The app's source directory.")],
    app_name: Annotated[
        str | None, typer.Option("--app", "-a", help="[default: the name its files give]")
    ] = None,
    context: Context = None,
    namespace: Namespace = None,
    registry: Annotated[str | None, typer.Option(help="Registry to push to.")] = None,
    pull_registry: Annotated[str | None, typer.Option(help="Registry as nodes reach it.")] = None,
    base_image: Annotated[str | None, typer.Option(help="Base image.")] = None,
    expose: Annotated[str | None, typer.Option(help="clusterip, nodeport or ingress.")] = None,
    timeout: Timeout = 180,
    force: Annotated[bool, typer.Option(help="Release even if nothing changed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Build, push, provision addons, apply and wait: the app answers at the printed URL."""
    from shipway.cli import backend
    from shipway.errors import DeployFailed

    overrides = {
        "registry": registry,
        "pull_registry": pull_registry,
        "base_image": base_image,
        "expose": expose,
    }
    try:
        where = backend.login()
        if where is None:
            result = _deploy_direct(
                app_dir, app_name, context, namespace, overrides, timeout, force, as_json
            )
        else:
            result = _deploy_remote(
                where, app_dir, app_name, context, namespace, overrides, force, as_json
            )
    except DeployFailed as failed:  # both ways fail alike: one line, or this JSON
        if as_json:
            print_json(
                {"status": "failed", "reason": str(failed), "rolled_back_to": failed.rolled_back_to}
            )
        raise
    if as_json:
        print_json(result)
        return
    done = "deployed" if result["status"] == "succeeded" else "is current, nothing changed"
    out.print(
        styled("bold green", f"v{result['release']}", f" {done}: {result['image']}"),
        soft_wrap=True,
    )
    name, ns = result["app"], namespace or result["app"]
    out.print(
        f"URL: {result['url']}"
        if result["url"]
        else f"No public URL (ClusterIP): kubectl port-forward -n {ns} svc/{name} 8080:80"
    )


def _deploy_remote(
    where: Login,
    app_dir: Path,
    app_name: str | None,
    context: str | None,
    namespace: str | None,
    overrides: dict[str, Any],
    force: bool,
    as_json: bool,
) -> dict[str, Any]:
    if any(option is not None for option in (context, namespace, *overrides.values())):
        raise ShipwayError(
            "--context, --namespace, --registry, --pull-registry, --base-image and "
            "--expose are for direct mode (the server has its platform settings): drop "
            "them, or add --direct"
        )
    from shipway.cli.remote import Remote
    from shipway.cli.remote_deploy import deploy_remote

    return deploy_remote(Remote(where), app_dir, app_name, force, as_json)


def _deploy_direct(
    app_dir: Path,
    app_name: str | None,
    context: str | None,
    namespace: str | None,
    overrides: dict[str, Any],
    timeout: float,
    force: bool,
    as_json: bool,
) -> dict[str, Any]:
    from shipway.deploy import deploy
    from shipway.ops.apps import release_json

    with RichProgress(enabled=not as_json) as progress:
        outcome = deploy(app_dir, context, overrides, namespace, timeout, progress, force, app_name)
    return release_json(outcome, "succeeded" if outcome.changed else "unchanged")


@app.command("releases")
def releases_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """The app's releases, newest first."""
    rows = perform("releases", name, NoArguments(), context, namespace)
    if as_json:
        print_json(rows)
        return
    shown = table("v", "status", "description", "by", "created")
    for row in rows:
        shown.add_row(
            *(str(row[key]) for key in ("version", "status", "description", "by", "created"))
        )
    out.print(shown)


@app.command("rollback")
def rollback_cmd(
    name: AppName,
    version: Annotated[str | None, typer.Argument()] = None,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Roll back to a release (default: the one before the current): a new release."""
    from shipway.ops.apps import RollbackTo

    with RichProgress(enabled=not as_json) as progress:
        data = perform(
            "rollback", name, RollbackTo(version), context, namespace, progress, timeout=timeout
        )
    print_released(data, as_json, f"rolled back to v{data['rolled_back_to']}")


def print_released(data: dict[str, Any], as_json: bool, message: str) -> None:
    """What the verbs that make a release print: the new release (or its JSON)."""
    if as_json:
        print_json(data)
        return
    out.print(styled("bold green", f"v{data['release']}", f": {message}"))


@app.command("config")
def config_cmd(
    name: AppName,
    context: Context = None,
    namespace: Namespace = None,
    reveal: Annotated[bool, typer.Option(help="Show the values.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The app's config vars (values hidden unless --reveal)."""
    from shipway.ops.apps import ConfigQuery

    _show(perform("config", name, ConfigQuery(reveal), context, namespace), as_json, "=")


@app.command("config:set")
def config_set_cmd(
    name: AppName,
    assignments: Annotated[list[str], typer.Argument()],
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Set config vars (KEY=VALUE …): a new release that restarts the processes."""
    changes: dict[str, str | None] = dict(_assignments(assignments))
    _change_config(name, changes, context, namespace, timeout, as_json)


@app.command("config:unset")
def config_unset_cmd(
    name: AppName,
    keys: Annotated[list[str], typer.Argument()],
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Remove config vars: a new release that restarts the processes."""
    _change_config(name, dict.fromkeys(keys), context, namespace, timeout, as_json)


def _change_config(
    name: str,
    changes: dict[str, str | None],
    context: str | None,
    namespace: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    from shipway.ops.apps import ConfigChange

    request = ConfigChange(changes)
    with RichProgress(enabled=not as_json) as progress:
        data = perform("config:set", name, request, context, namespace, progress, timeout=timeout)
    if data["release"] is None:  # not deployed yet: kept for the first deploy
        if as_json:
            print_json(data)
        else:
            out.print(f"{', '.join(sorted(changes))}: kept; the first deploy uses them")
        return
    print_released(data, as_json, data["description"])


@app.command("scale")
def scale_cmd(
    name: AppName,
    counts: Annotated[list[str], typer.Argument(help="web=3 …")],
    context: Context = None,
    namespace: Namespace = None,
    as_json: JsonFlag = False,
) -> None:
    """Set how many pods each process type runs (kept for later releases)."""
    from shipway.ops.apps import Formation

    wanted = _assignments(counts)
    for process, count in wanted.items():
        if not count.isdigit():
            raise ShipwayError(f"'{process}={count}': write process=COUNT, e.g. web=2")
    request = Formation({k: int(v) for k, v in wanted.items()})
    formation = perform("scale", name, request, context, namespace)
    if as_json:
        print_json(formation)
        return
    out.print(" ".join(f"{k}={v}" for k, v in sorted(formation.items())))


@app.command("restart")
def restart_cmd(
    name: AppName,
    processes: Annotated[list[str] | None, typer.Argument(help="[default: all]")] = None,
    context: Context = None,
    namespace: Namespace = None,
    timeout: Timeout = 180,
    as_json: JsonFlag = False,
) -> None:
    """Replace the app's pods one by one with fresh ones of the same release."""
    from shipway.ops.apps import Processes

    with RichProgress(enabled=not as_json) as progress:
        data = perform(
            "restart",
            name,
            Processes(processes or []),
            context,
            namespace,
            progress,
            timeout=timeout,
        )
    if as_json:
        print_json(data)
        return
    out.print(f"restarted {', '.join(data['restarted'])}")


@app.command("info")
def info_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """The running release, the app's URL, its processes and addons."""
    found = perform("info", name, NoArguments(), context, namespace)
    if as_json:
        print_json(found)
        return
    app_name, ns = found["app"], found["namespace"]
    rows = {
        "app": app_name,
        "namespace": ns,
        "release": f"v{found['release']} ({found['created']} by {found['by']})",
        "image": found["image"],
        "url": found["url"]
        or f"none (ClusterIP): kubectl port-forward -n {ns} svc/{app_name} 8080:80",
        "processes": " ".join(f"{k}={v}" for k, v in sorted(found["formation"].items())),
        "addons": " ".join(f"{k} {v}" for k, v in sorted(found["addons"].items())) or "none",
        "config vars": f"{found['config_vars']} (shipway config {app_name})",
    }
    _show(rows, False, ": ")


@app.command("ps")
def ps_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """The app's pods: process type, status, restarts."""
    pods = perform("ps", name, NoArguments(), context, namespace)
    if as_json:
        print_json(pods)
        return
    listing = table("process", "pod", "status", "ready", "restarts", "release", "started")
    for pod in pods:
        listing.add_row(
            pod["process"],
            pod["name"],
            pod["phase"],
            "yes" if pod["ready"] else "no",
            str(pod["restarts"]),
            pod["release"],
            pod["started"],
        )
    out.print(listing)


@app.command("logs")
def logs_cmd(
    name: AppName,
    context: Context = None,
    namespace: Namespace = None,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    process: Annotated[str | None, typer.Option(help="Only this process type.")] = None,
    tail: Annotated[int | None, typer.Option(help="Lines per pod.")] = None,
) -> None:
    """The logs of all the app's pods, each line prefixed with its pod."""
    from shipway.ops.apps import LogsQuery

    request = LogsQuery(follow, process, tail)
    perform("logs", name, request, context, namespace, emit=write_line)


@app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_cmd(
    name: AppName,
    command: Annotated[list[str], typer.Argument()],
    context: Context = None,
    namespace: Namespace = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a start.")] = 300,
) -> None:
    """Run a command once in a new pod with the app's image and config; exits with its code."""
    from shipway.ops.apps import Command

    data = perform(
        "run", name, Command(command), context, namespace, emit=write_line, timeout=timeout
    )
    raise typer.Exit(int(data["exit_code"]) if data else 1)


@app.command("addons")
def addons_cmd(
    name: AppName, context: Context = None, namespace: Namespace = None, as_json: JsonFlag = False
) -> None:
    """The app's backing services and their state."""
    found = perform("addons", name, NoArguments(), context, namespace)
    if as_json:
        print_json(found)
        return
    listing = table("addon", "version", "ready", "storage")
    for addon in found:
        listing.add_row(addon["kind"], addon["version"], addon["ready"], addon["storage"])
    out.print(listing)


@app.command("apps")
def apps_cmd(context: Context = None, as_json: JsonFlag = False) -> None:
    """The apps Shipway deployed in the cluster."""
    listed = list_apps(context)
    if as_json:
        print_json(listed)
        return
    listing = table("app", "namespace", "release", "status", "processes")
    for row in listed:
        counts = " ".join(f"{k}={v}" for k, v in row.get("processes", {}).items())
        listing.add_row(row["app"], row["namespace"], row["release"], row["status"], counts)
    out.print(listing)


@app.command("destroy")
def destroy_cmd(
    name: AppName,
    context: Context = None,
    namespace: Namespace = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    keep_data: Annotated[
        bool | None,
        typer.Option(
            "--keep-data/--delete-data",
            help="Keep the addons' volumes, credentials and history for a later deploy, or "
            "delete them; with --yes, an app with addon data needs one of them.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete the app (asks what to do with its addon data, and for its name, unless --yes)."""
    from shipway.ops.apps import Removal

    volumes = perform("volumes", name, NoArguments(), context, namespace)
    if volumes and keep_data is None:
        if yes:
            raise ShipwayError(
                f"{name} has addon data ({', '.join(volumes)}): choose --keep-data (a later "
                "deploy finds it) or --delete-data (gone for good)"
            )
        keep_data = _ask_keep_data(volumes)
    if not yes:
        what = "its addon data is kept" if keep_data else "its addon data is DELETED"
        err.print(f"This removes {name} from the cluster; {what}.")
        typed = typer.prompt("Type the app's name to confirm", default="", show_default=False)
        if typed != name:
            raise ShipwayError("the name did not match; nothing was deleted")
    data = perform("destroy", name, Removal(bool(keep_data)), context, namespace)
    if as_json:
        print_json(data)
        return
    out.print(f"removed {', '.join(data['removed']) or 'nothing'}")
    if keep_data and volumes:
        out.print(
            f"kept the addon data ({', '.join(volumes)}), its Services, credentials and "
            f"the release history: shipway deploy brings {name} back with its data"
        )


def list_apps(context: str | None) -> list[dict[str, Any]]:
    """The apps of the cluster (direct mode), or those of the user's teams (remote)."""
    from shipway.cli import backend

    if backend.login() is None:
        from shipway.kube.client import connect
        from shipway.listing import apps

        return apps(connect(context))
    if context:
        raise ShipwayError("--context is for direct mode: drop it, or add --direct")
    listed: list[dict[str, Any]] = backend.remote().request("GET", "/apps")
    return listed


def _ask_keep_data(volumes: list[str]) -> bool:
    err.print(f"The app has addon data: {', '.join(volumes)}.")
    while True:
        answer = typer.prompt("Keep it for a later deploy, or delete it? [keep/delete]")
        if answer in ("keep", "delete"):
            return bool(answer == "keep")
        err.print("Answer keep or delete.")


platform_app = typer.Typer(help="Settings shared by every user of the cluster.")
app.add_typer(platform_app, name="platform")


@platform_app.command("show")
def platform_show(context: Context = None, as_json: JsonFlag = False) -> None:
    """The cluster's platform settings, with environment overrides applied."""
    from shipway import platform as platform_settings
    from shipway.kube.client import connect

    settings = platform_settings.load(connect(context)).with_env()
    _show(settings.model_dump(), as_json, ": ")


@platform_app.command("set")
def platform_set(
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE …")], context: Context = None
) -> None:
    """Change platform settings, e.g. registry=127.0.0.1:5000 addon_images.mongodb=…"""
    from shipway import platform as platform_settings
    from shipway.kube.client import connect

    client = connect(context)
    changes = _assignments(assignments)
    updated = platform_settings.update(platform_settings.load(client), changes)
    platform_settings.save(client, updated)
    out.print("platform settings saved")
