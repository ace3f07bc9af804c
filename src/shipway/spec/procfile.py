"""Heroku's ``Procfile``: one ``type: command`` line per process type."""

from __future__ import annotations

import re
from pathlib import Path

from shipway.errors import Location, SpecError, excerpt
from shipway.spec import appfile
from shipway.spec.partial import Partial, Sourced

FILENAME = "Procfile"
LINE = re.compile(r"^(?P<name>[^:\s]+)\s*:\s*(?P<command>.*)$")
#: Heroku runs ``release`` once per deploy, before the new processes start.
RELEASE = "release"
#: Lines, comments included: real Procfiles have a handful.
MAX_LINES = 1000
#: Characters of one line: a command longer than this belongs in a script.
MAX_LINE = 8192


def load(app_dir: Path, name: str) -> Partial:
    file = app_dir / name
    lines = (appfile.read_text(app_dir, name) or "").splitlines()
    if len(lines) > MAX_LINES:
        raise SpecError(
            file.name, None, f"has more than {MAX_LINES} lines", "keep one line per process type"
        )
    fields: Partial = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(file, number)
        if len(line) > MAX_LINE:
            raise SpecError(
                where, None, f"is longer than {MAX_LINE} characters", "move the command to a script"
            )
        name, command = _process(line, where)
        path = ("release",) if name == RELEASE else ("processes", name, "command")
        if path in fields:
            raise SpecError(where, name, "is declared twice", "keep one line per process type")
        fields[path] = Sourced(command, where)
    return fields


def _process(line: str, where: Location) -> tuple[str, str]:
    """The process type and command of a line."""
    match = LINE.match(line)
    if match is None:
        raise SpecError(
            where,
            None,
            f"'{excerpt(line)}' is not a 'type: command' line",
            "write each process as e.g. 'web: gunicorn app:app'",
        )
    name, command = match.group("name"), match.group("command").strip()
    if not command:
        raise SpecError(where, name, "has no command", "write the command after the colon")
    if name != name.lower():
        raise SpecError(
            where, name, "process types are lower-case here", f"rename it '{excerpt(name.lower())}'"
        )
    return name, command
