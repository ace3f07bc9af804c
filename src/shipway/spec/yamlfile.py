"""Read a YAML file into plain Python values, remembering the line of every value.

Errors must point at a line, so the loaders keep, beside the data, a map from each
value's path (``("services", "mongodb")``) to the 1-based line it was written on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from shipway.errors import Location, SpecError

Path_ = tuple[str | int, ...]
MAX_BYTES = 1_000_000


class Document:
    """A parsed YAML (or JSON) document and the line of each value in it."""

    def __init__(self, file: Path, data: Any, lines: dict[Path_, int]):
        self.file = file
        self.data = data
        self._lines = lines

    def at(self, *path: str | int) -> Location:
        """The location of ``path``, or of its nearest ancestor that has a line."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line:
                return Location(self.file, line)
        return Location(self.file)


def read_text(file: Path) -> str:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SpecError(
            file.name,
            None,
            f"cannot read the file ({exc.strerror})",
            "check that it exists and is readable",
        ) from None
    if len(raw) > MAX_BYTES:
        raise SpecError(
            file.name,
            None,
            "the file is larger than 1 MB",
            "an app description should be a few lines long",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(file.name, None, "the file is not UTF-8 text", "save it as UTF-8") from None


def load(file: Path) -> Document:
    """Parse ``file``; any syntax problem becomes a one-line ``SpecError`` with its line."""
    text = read_text(file)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except RecursionError:
        raise SpecError(
            file.name, None, "the document is nested too deeply", "flatten it"
        ) from None
    except Exception as exc:  # ruamel raises many types; all mean "not valid YAML here"
        raise SpecError(
            _mark(file, exc), None, f"invalid YAML ({_problem(exc)})", "fix the syntax at that line"
        ) from None
    lines: dict[Path_, int] = {}
    try:
        data = _plain(node, (), lines)
    except RecursionError:
        raise SpecError(
            file.name, None, "the document is nested too deeply", "flatten it"
        ) from None
    return Document(file, data, lines)


def _plain(node: Any, path: Path_, lines: dict[Path_, int]) -> Any:
    """Turn ruamel's commented containers into dicts and lists, recording lines."""
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            sub = (*path, key if isinstance(key, str | int) else str(key))
            _record(node, key, sub, lines, "key")
            out[key] = _plain(value, sub, lines)
        return out
    if isinstance(node, list):
        items = []
        for index, value in enumerate(node):
            sub = (*path, index)
            _record(node, index, sub, lines, "item")
            items.append(_plain(value, sub, lines))
        return items
    return node


def _record(node: Any, key: Any, path: Path_, lines: dict[Path_, int], kind: str) -> None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return
    try:
        line, _col = getattr(lc, kind)(key)
    except Exception:  # ruamel keeps no position for some merged or aliased entries
        return
    lines[path] = line + 1


def _mark(file: Path, exc: Exception) -> Location:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = getattr(mark, "line", None)
    return Location(file, line + 1 if isinstance(line, int) else None)


def _problem(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or exc.__class__.__name__
    return " ".join(str(problem).split())
