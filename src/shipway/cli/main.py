"""The ``shipway`` command line: parses input, calls the core, prints results.

Start-up time is the cost of a verb people type many times a day, so this module imports
nothing heavy: the command modules register their verbs when imported, and each command
imports the core it needs when it runs. ``shipway --help`` imports every command module
(to list them) but none of the core.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from shipway import __version__

if TYPE_CHECKING:
    import typer

#: Which module registers each verb. Only the module of the verb being run is imported
#: (all of them for --help, in this order, which is the order the help lists them in).
COMMAND_MODULES = {
    **dict.fromkeys(["render", "inspect", "version"], "project_cmd"),
    **dict.fromkeys(
        [
            "deploy",
            "releases",
            "rollback",
            "config",
            "config:set",
            "config:unset",
            "scale",
            "restart",
            "info",
            "ps",
            "logs",
            "run",
            "addons",
            "apps",
            "destroy",
            "platform",
        ],
        "apps_cmd",
    ),
    "build": "build_cmd",
    **dict.fromkeys(["create", "addons:create", "addons:destroy"], "lifecycle_cmd"),
}


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


def main() -> None:
    if sys.argv[1:] == ["version"]:  # answered before Typer and Rich are imported
        print_version()
        return
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
