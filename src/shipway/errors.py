"""The one error hierarchy of Shipway.

Every error a user can cause is a ``ShipwayError`` whose ``str()`` is a single line that
names where the problem is (file, line, field) and how to fix it. Front ends print that
line and exit 2; they never show a traceback for these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: How much of an app's own file an error may quote (a value, a line).
EXCERPT = 40
#: Field names come from user files too (``env.<key>``): long ones are cut.
MAX_FIELD = 80


class ShipwayError(Exception):
    """A problem the user can fix; the message is one line, shown as is."""

    exit_code = 2
    #: Whether doing the same thing again may succeed (a timeout, a 503).
    retryable = False
    #: What went wrong, for front ends that answer with a status (the server): the request
    #: itself (``invalid``), or one of the kinds of the subclasses below.
    kind = "invalid"


class TemporaryError(ShipwayError):
    """A failure that may go away on its own: worth retrying."""

    exit_code = 1
    retryable = True
    kind = "unavailable"


class DeployFailed(ShipwayError):
    """The release did not come up; the app was rolled back to ``rolled_back_to``."""

    exit_code = 1

    def __init__(self, message: str, rolled_back_to: int | None):
        super().__init__(message)
        self.rolled_back_to = rolled_back_to


class NotFound(ShipwayError):
    """No such thing, or none the asker may know of: the two answer alike."""

    kind = "not-found"


class Unauthenticated(ShipwayError):
    """No valid credentials (missing, wrong, revoked or expired)."""

    kind = "unauthenticated"


class Denied(ShipwayError):
    """Known to the asker, but their role does not allow this."""

    kind = "denied"


class Conflict(ShipwayError):
    """The request clashes with what exists (a taken name, a used invite)."""

    kind = "conflict"


class Busy(TemporaryError):
    """Too much at once (a full deploy queue, too many failed sign-ins): later."""

    kind = "busy"


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file and, when known, a 1-based line."""

    file: Path
    line: int | None = None

    def __str__(self) -> str:
        name = self.file.name
        return f"{name}:{self.line}" if self.line else name


class SpecError(ShipwayError):
    """Bad application input: names the file, line, field and the fix."""

    def __init__(self, where: Location | Path | str, field: str | None, problem: str, fix: str):
        self.where = where
        self.field = field
        self.problem = problem
        self.fix = fix
        place = _one_line(str(where))
        if field:
            place = f"{place}: {_printable(excerpt(field, MAX_FIELD))}"
        super().__init__(f"{place}: {_one_line(problem)}; {_one_line(fix)}")


def validation_message(problem: str, default_fix: str) -> tuple[str, str]:
    """A validator's "problem; fix" message split in two (pydantic prefixes "Value error")."""
    problem = problem.removeprefix("Value error, ")
    text, _, fix = problem.partition("; ")
    return text, fix or default_fix


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` fit to quote in a one-line message: whitespace runs made one space,
    control and format characters (escape sequences, bidi overrides) dropped, at most
    ``limit`` characters. Never pass a config var's value: name its key instead."""
    clean = _one_line(text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def _printable(text: str) -> str:
    """Field names come from user files: show odd ones quoted, never across lines."""
    return text if text.isprintable() and " " not in text else repr(text)


def _one_line(text: str) -> str:
    return "".join(char for char in " ".join(text.split()) if char.isprintable())
