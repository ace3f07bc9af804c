"""The ``shipway`` command line: parses input, calls the core, prints results.

Start-up time is the cost of a verb people type many times a day, so this module imports
nothing heavy: the command modules register their verbs when imported, and each command
imports the core it needs when it runs. ``shipway --help`` imports every command module
(to list them) but none of the core.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from shipway import __version__

if TYPE_CHECKING:
    import typer

#: Each verb: the module that registers it, and the summary ``shipway --help`` lists (the
#: first line of its docstring; a test keeps them equal). Only the module of the verb
#: being run is imported; the top-level help imports none.
VERBS: dict[str, tuple[str, str]] = {
    "render": (
        "project_cmd",
        "Write the Kubernetes manifests (and a Dockerfile) that run the app.",
    ),
    "inspect": ("project_cmd", "Show what Shipway understood of the app: its spec and build plan."),
    "version": ("project_cmd", "Print Shipway's version."),
    "deploy": (
        "apps_cmd",
        "Build, push, provision addons, apply and wait: the app answers at the printed URL.",
    ),
    "releases": ("apps_cmd", "The app's releases, newest first."),
    "rollback": (
        "apps_cmd",
        "Roll back to a release (default: the one before the current): a new release.",
    ),
    "config": ("apps_cmd", "The app's config vars (values hidden unless --reveal)."),
    "config:set": (
        "apps_cmd",
        "Set config vars (KEY=VALUE …): a new release that restarts the processes.",
    ),
    "config:unset": ("apps_cmd", "Remove config vars: a new release that restarts the processes."),
    "scale": ("apps_cmd", "Set how many pods each process type runs (kept for later releases)."),
    "restart": (
        "apps_cmd",
        "Replace the app's pods one by one with fresh ones of the same release.",
    ),
    "info": ("apps_cmd", "The running release, the app's URL, its processes and addons."),
    "ps": ("apps_cmd", "The app's pods: process type, status, restarts."),
    "logs": ("apps_cmd", "The logs of all the app's pods, each line prefixed with its pod."),
    "run": (
        "apps_cmd",
        "Run a command once in a new pod with the app's image and config; exits with its code.",
    ),
    "addons": ("apps_cmd", "The app's backing services and their state."),
    "apps": ("apps_cmd", "The apps Shipway deployed in the cluster."),
    "destroy": (
        "apps_cmd",
        "Delete the app (asks what to do with its addon data, and for its name, unless --yes).",
    ),
    "platform": ("apps_cmd", "Settings shared by every user of the cluster."),
    "build": ("build_cmd", "Build the app's OCI image and push it to a registry."),
    "create": (
        "lifecycle_cmd",
        "Create an app before its first deploy (then addons:create, config:set, deploy).",
    ),
    "apps:import": (
        "lifecycle_cmd",
        "Give an app deployed in direct mode to a team of the server (site admins).",
    ),
    "domains": (
        "lifecycle_cmd",
        "The host names the app answers on: from its files, and added with domains:add.",
    ),
    "domains:add": (
        "lifecycle_cmd",
        "Serve the app on a host name too (through its Ingress): a new release.",
    ),
    "domains:remove": (
        "lifecycle_cmd",
        "Stop serving the app on a host name added with domains:add: a new release.",
    ),
    "addons:create": (
        "lifecycle_cmd",
        "Add a backing service; a deployed app gets it at once, as a new release.",
    ),
    "addons:destroy": (
        "lifecycle_cmd",
        "Remove a backing service made with addons:create, and its data.",
    ),
    "server": ("server_cmd", "Run the team server (the API a team deploys through), or set it up."),
    "login": (
        "account_cmd",
        "Sign in to a Shipway server: later commands go through it (remote mode).",
    ),
    "logout": (
        "account_cmd",
        "Sign out: forget the saved login and its ~/.netrc entry; revoke a token login made.",
    ),
    "whoami": ("account_cmd", "Who you are signed in as, on which server, in which teams."),
    "teams": ("account_cmd", "Your teams and your role in each."),
    "teams:create": ("account_cmd", "Create a team (site admins); its owner then adds members."),
    "members": ("account_cmd", "The members of a team and their roles."),
    "members:add": ("account_cmd", "Add a user to a team, or change their role there."),
    "members:remove": ("account_cmd", "Remove a member from a team."),
    "invites:create": (
        "account_cmd",
        "Make a one-time invite link to a team (expires in a week); prints it once.",
    ),
    "tokens": (
        "account_cmd",
        "Your API tokens (their prefixes; a token's value is shown only when made).",
    ),
    "tokens:create": ("account_cmd", "Make an API token (for CI, scripts); prints its value once."),
    "tokens:revoke": ("account_cmd", "Revoke one of your API tokens."),
    "passwd": (
        "account_cmd",
        "Set your password on the server (then shipway login URL works with it).",
    ),
    "users": ("account_cmd", "Every user of the server (site admins)."),
    "users:create": (
        "account_cmd",
        "Create a user (site admins); prints a token for their first sign-in, once.",
    ),
    "users:reset-password": ("account_cmd", "Set another user's password (site admins)."),
    "audit": (
        "account_cmd",
        "What changed, who did it, when and from where: a team's or the whole server's.",
    ),
    "git:remote": (
        "git_cmd",
        "Add the app's repository on the server as a git remote (git push shipway main).",
    ),
    "git:settings": ("git_cmd", "Show the app's git settings, or change those given."),
    "git:webhook": (
        "git_cmd",
        "Make a new webhook secret for the app (printed once) and print its hook URLs.",
    ),
    "git:credential": (
        "git_cmd",
        "Set the token the server fetches the app's repository with (HTTPS), or remove it.",
    ),
    "git:deliveries": (
        "git_cmd",
        "The app's webhook deliveries, newest first: what became of each and why.",
    ),
}
COMMAND_MODULES = {verb: module for verb, (module, _) in VERBS.items()}
ABOUT = "Take an app's source and run it on your Kubernetes cluster, Heroku-style."


def print_help() -> None:
    """The top-level help, plain text (as git's): without Typer and Rich, it answers in
    the time Python takes to start."""
    width = max(map(len, VERBS)) + 2
    lines = [
        "Usage: shipway [OPTIONS] COMMAND [ARGS]...",
        "",
        f"  {ABOUT}",
        "",
        "Options:",
        f"  {'--help':<{width}}Show this message and exit.",
        f"  {'--direct':<{width}}Use the kubeconfig's cluster, even when logged in to a server.",
        "",
        "Commands:",
        *(f"  {verb:<{width}}{summary}" for verb, (_, summary) in VERBS.items()),
        "",
        "Run 'shipway COMMAND --help' for a command's options.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _register_commands(argv: list[str]) -> typer.Typer:
    wanted = COMMAND_MODULES.get(argv[1]) if len(argv) > 1 else None
    for module in [wanted] if wanted else dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(f"shipway.cli.{module}")
    from shipway.cli.common import app

    return app


def __getattr__(name: str) -> Any:
    """``app``, with every verb registered (for tests that drive it with a CliRunner)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _register_commands([])


def print_version() -> None:
    """Plain text, not through Rich, so that ``main`` answers before importing it."""
    sys.stdout.write(f"{__version__}\n")


def _take_direct(argv: list[str]) -> list[str]:
    """``--direct`` anywhere before ``--`` (after it, the words belong to ``run``'s
    command): the kubeconfig's cluster, even when logged in to a server."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--direct" not in argv[:end]:
        return argv
    os.environ["SHIPWAY_DIRECT"] = "1"
    return [a for a in argv[:end] if a != "--direct"] + argv[end:]


def main() -> None:
    sys.argv = _take_direct(sys.argv)
    if sys.argv[1:] == ["version"]:  # answered before Typer and Rich are imported
        print_version()
        return
    if sys.argv[1:] in ([], ["--help"], ["-h"]):
        print_help()
        return
    # A command's start-up allocates only long-lived objects (modules, classes, models):
    # collecting them again and again on the way costs ~0.1 s and frees nothing; and at
    # exit, frozen objects are not collected before the process ends anyway.
    gc.set_threshold(100_000, 50, 1000)
    atexit.register(gc.freeze)
    from shipway.cli.common import err, styled
    from shipway.errors import ShipwayError

    try:
        _register_commands(sys.argv)()
    except ShipwayError as exc:
        err.print(styled("bold red", "error:", f" {exc}"), soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line; SHIPWAY_DEBUG=1 shows where
        if os.environ.get("SHIPWAY_DEBUG"):
            raise
        err.print(
            styled(
                "bold red",
                "error:",
                f" internal error ({type(exc).__name__}: {exc}); this is a bug in Shipway: "
                "run again with SHIPWAY_DEBUG=1 and report the traceback",
            ),
            soft_wrap=True,
        )
        sys.exit(70)
