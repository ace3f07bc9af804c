"""What every command shares: the Typer app, the consoles, option types, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    name="shipway",
    help="Take an app's source and run it on your Kubernetes cluster, Heroku-style.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class LiteralConsole(Console):
    """Much of what Shipway prints comes from apps' files, registries and pods: it is
    never read as markup, and control characters (escape sequences) are dropped from
    every string, table cells included, on its way to the terminal."""

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> Text:
        return super().render_str(literal(text, keep_newlines=True), *args, **kwargs)


out = LiteralConsole(markup=False, highlight=False)
#: Progress and errors go to stderr, so --json output on stdout stays parseable.
err = LiteralConsole(stderr=True, markup=False, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def literal(text: str, keep_newlines: bool = False) -> str:
    """``text`` without control characters (an app's escape sequences stay off the
    terminal): each becomes a space, newlines too unless kept."""
    return "".join(c if c.isprintable() or (keep_newlines and c == "\n") else " " for c in text)


def styled(style: str, head: str, rest: str = "") -> Text:
    """``head`` in ``style``, then ``rest``, both printed literally."""
    return Text.assemble((literal(head), style), literal(rest))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
