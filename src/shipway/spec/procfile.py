"""Heroku's ``Procfile``: one ``type: command`` line per process type."""

from __future__ import annotations

import re
from pathlib import Path

from shipway.errors import Location, SpecError
from shipway.spec.partial import Partial, Sourced
from shipway.spec.yamlfile import read_text

FILENAME = "Procfile"
LINE = re.compile(r"^(?P<name>[^:\s]+)\s*:\s*(?P<command>.*)$")
#: Heroku runs ``release`` once per deploy, before the new processes start.
RELEASE = "release"


def load(file: Path) -> Partial:
    fields: Partial = {}
    for number, raw in enumerate(read_text(file).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(file, number)
        match = LINE.match(line)
        if match is None:
            raise SpecError(
                where,
                None,
                f"'{_short(line)}' is not a 'type: command' line",
                "write each process as e.g. 'web: gunicorn app:app'",
            )
        name, command = match.group("name"), match.group("command").strip()
        if not command:
            raise SpecError(where, name, "has no command", "write the command after the colon")
        path = ("release",) if name == RELEASE else ("processes", name.lower(), "command")
        if name != name.lower():
            raise SpecError(
                where, name, "process types are lower-case here", f"rename it '{name.lower()}'"
            )
        if path in fields:
            raise SpecError(where, name, "is declared twice", "keep one line per process type")
        fields[path] = Sourced(command, where)
    return fields


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
