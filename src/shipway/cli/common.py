"""What every command shares: the Typer app, the consoles, option types, JSON output."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from shipway.cli.main import ABOUT

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(
    name="shipway",
    help=ABOUT,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _verbs() -> None:
    # A callback keeps `shipway VERB …` a group of verbs when main registers only the
    # verb being run: Typer runs an app of one command as that command, without its name.
    pass


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


#: Whole escape sequences, dropped with their parameters so a coloured log reads as
#: plain text: CSI (colours, cursor moves; \x9b its C1 form), OSC (titles, OSC 8
#: hyperlinks) ended by BEL or ST, and the other escapes. Intermediate bytes exclude the
#: space, so a sequence cut short by a message's truncation does not eat the words after.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[!-/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[!-/]*[0-~]"
)


def literal(text: str, keep_newlines: bool = False) -> str:
    """``text`` safe for the terminal, the one sanitiser of everything Shipway prints
    (apps' files, registries' and pods' answers, logs): escape sequences are dropped, any
    other control or invisible formatting character (``\\r``, BEL, C1 controls, bidi
    overrides) becomes a space. Tabs stay, and newlines when asked."""
    kept = "\t\n" if keep_newlines else "\t"
    return "".join(c if c.isprintable() or c in kept else " " for c in _ESCAPES.sub("", text))


def write_line(text: str) -> None:
    """One line of a pod's output (``logs``, ``run``) on stdout, as it comes: plain
    text, not through Rich (no wrapping, no markup), but sanitised all the same."""
    sys.stdout.write(literal(text) + "\n")
    sys.stdout.flush()


def styled(style: str, head: str, rest: str = "") -> Text:
    """``head`` in ``style``, then ``rest``, both printed literally."""
    return Text.assemble((literal(head), style), literal(rest))


def table(*headers: str, **options: Any) -> Table:
    """A Rich table; rich.table is imported by the commands that print one."""
    from rich.table import Table

    return Table(*headers, **options)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
