"""Parse an app's YAML, JSON and TOML into plain values, within bounds, keeping lines.

Errors must point at a line, so a ``Document`` keeps, beside the data, a map from each
value's path (``("services", "mongodb")``) to the 1-based line it was written on.

The documents come from the app's author (and, once the server exists, anyone who
pushes), so parsing is bounded: a few hundred bytes of YAML aliases must not expand to
gigabytes (each alias is shared when composed, but turning the document into plain
values copies it), nor may nesting reach the interpreter's recursion limit or a number
be too long to print. Every limit is a one-line ``SpecError`` naming the file and the
limit; parser messages are shown without the text they quote, since that text may be a
config var's value.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import tomllib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.events import AliasEvent

from shipway.errors import Location, SpecError, excerpt
from shipway.spec import appfile

Path_ = tuple[str | int, ...]
Parser = Callable[[str, Path], "Document"]
#: Field patterns (``*``: every key or item) and the type each must have, described.
Shape = dict[tuple[str, ...], tuple[type, str]]

#: Nesting of mappings and lists; real description files stay under 10.
MAX_DEPTH = 32
#: YAML aliases (``*name``) in one document; real files use a handful, if any.
MAX_ALIASES = 100
#: Values in one document once its aliases are expanded: real files hold hundreds. It
#: bounds every walk over the data, and stops pure-Python parsing of a long document
#: early (a 256 KiB ``[1,1,…`` holds 128k and takes seconds to parse).
MAX_VALUES = 20_000
#: Digits of a number: a longer one is not a setting, and Python cannot print it.
MAX_DIGITS = 100
#: A parser's quoted excerpt longer than this is dropped (it may be a secret's value).
MAX_QUOTED = 2
SCALAR_KEYS = (str, int, float, bool, type(None), datetime.date)
DUPLICATE = re.compile(r'found duplicate key "(.*?)" with value "')
QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
NESTED = f"is nested more than {MAX_DEPTH} levels deep"


class Document:
    """A parsed document and the line of each value in it."""

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


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


def load(app_dir: Path, rel: str, parse: Parser) -> Document | None:
    """The app's file ``rel`` read (``appfile``) and parsed; ``None`` when absent."""
    text = appfile.read_text(app_dir, rel)
    return None if text is None else parse(text, app_dir / rel)


def check_shape(doc: Document, shape: Shape, fix: str) -> None:
    """Every field of ``doc`` that ``shape`` names has its type: a wrong type is an
    error, never silently read as missing."""
    for pattern, (kind, described) in shape.items():
        for path, value in _matches(doc.data, pattern, ()):
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise SpecError(doc.at(*path), dotted(path), f"must be {described}", fix)


def _matches(data: Any, pattern: tuple[str, ...], path: Path_) -> Iterator[tuple[Path_, Any]]:
    if not pattern:
        yield path, data
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(data, dict):
        keys = list(data) if head == "*" else [head] if head in data else []
        for key in keys:
            yield from _matches(data[key], rest, (*path, key))
    elif isinstance(data, list) and head == "*":
        for index, item in enumerate(data):
            yield from _matches(item, rest, (*path, index))


def parse_yaml(text: str, file: Path) -> Document:
    """Parse YAML; a syntax problem or a limit becomes a one-line ``SpecError``."""
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    yaml.Composer = _BoundedComposer
    try:
        with warnings.catch_warnings():  # ruamel warns on stderr about reused anchors
            warnings.simplefilter("ignore")
            node = yaml.load(text)
    except _Exceeded as exc:
        raise SpecError(Location(file, exc.line), None, exc.problem, exc.fix) from None
    except RecursionError:
        _too_deep(file)
    except ValueError:  # a !!tag that does not fit its value, or thousands of digits
        raise SpecError(
            file.name, None, "holds a value that cannot be converted", "quote the value"
        ) from None
    except Exception as exc:  # ruamel raises many types; all mean "not valid YAML here"
        raise SpecError(
            _mark(file, exc), None, f"invalid YAML ({_problem(exc)})", "fix the syntax at that line"
        ) from None
    return _Walk(file).document(node)


def parse_json(text: str, file: Path) -> Document:
    """Parse JSON (no line numbers: ``json`` keeps none); NaN, Infinity and a key given
    twice in one object are errors, as are the limits."""
    try:
        data = json.loads(text, object_pairs_hook=_unique, parse_constant=_not_finite)
    except json.JSONDecodeError as exc:
        raise SpecError(
            Location(file, exc.lineno),
            None,
            f"invalid JSON ({exc.msg})",
            "fix the syntax at that line",
        ) from None
    except _DuplicateKey as exc:
        raise SpecError(
            file.name,
            None,
            f"the key '{excerpt(exc.key)}' is given twice in one object",
            "keep one",
        ) from None
    except RecursionError:
        _too_deep(file)
    except ValueError:  # a NaN or Infinity, or an integer of thousands of digits
        _bad_number(Location(file), None)
    return _Walk(file).document(data)


def parse_toml(text: str, file: Path) -> Document:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            file.name, None, f"invalid TOML ({_unquoted(str(exc))})", "fix its syntax"
        ) from None
    except RecursionError:
        _too_deep(file)
    except ValueError:  # an integer of thousands of digits
        _bad_number(Location(file), None)
    return _Walk(file).document(data)


class _Walk:
    """Turns parsed containers (ruamel's commented ones too) into dicts and lists,
    recording lines and enforcing the limits; aliases count once per use."""

    def __init__(self, file: Path):
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.values = 0

    def document(self, node: Any) -> Document:
        return Document(self.file, self.plain(node, ()), self.lines)

    def plain(self, node: Any, path: Path_) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:  # named at the top-level key whose value grew so
            raise self._error(path[:1], *_TOO_MANY)
        if len(path) > MAX_DEPTH:
            raise self._error(path, NESTED, "flatten it")
        if isinstance(node, dict):
            out: dict[Any, Any] = {}
            for key, value in node.items():
                sub = (*path, self._key(key, path))
                _record(node, key, sub, self.lines, "key")
                out[key] = self.plain(value, sub)
            return out
        if isinstance(node, list):
            items = []
            for index, value in enumerate(node):
                sub = (*path, index)
                _record(node, index, sub, self.lines, "item")
                items.append(self.plain(value, sub))
            return items
        if not _number_ok(node):
            _bad_number(self.at(path), dotted(path) or None)
        return node

    def _key(self, key: Any, path: Path_) -> str | int:
        if not isinstance(key, SCALAR_KEYS) or not _number_ok(key):
            raise self._error(path, "has a key that is not a plain value", "use a name as key")
        return key if isinstance(key, str | int) else str(key)

    def at(self, path: Path_) -> Location:
        return Document(self.file, None, self.lines).at(*path)

    def _error(self, path: Path_, problem: str, fix: str) -> SpecError:
        return SpecError(self.at(path), dotted(path) or None, problem, fix)


_TOO_MANY = (
    f"holds more than {MAX_VALUES} values (aliases expanded)",
    "an app description is a few lines long; write it out without aliases",
)


class _Exceeded(Exception):
    def __init__(self, event: Any, problem: str, fix: str):
        mark = getattr(event, "start_mark", None)
        line = getattr(mark, "line", None)
        self.line = line + 1 if isinstance(line, int) else None
        self.problem, self.fix = problem, fix


class _BoundedComposer(Composer):
    """ruamel's composer, counting as it goes so a hostile document stops early:
    before a deep one reaches the recursion limit, or a long one is fully parsed."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.nesting = 0
        self.aliases = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Exceeded(
                    event, f"uses more than {MAX_ALIASES} aliases", "write the values out"
                )
            return super().compose_node(parent, index)
        self.nodes += 1
        if self.nodes > MAX_VALUES:
            raise _Exceeded(event, *_TOO_MANY)
        self.nesting += 1
        try:
            if self.nesting > MAX_DEPTH + 1:  # the root counts here, not in a path
                raise _Exceeded(event, NESTED, "flatten it")
            return super().compose_node(parent, index)
        finally:
            self.nesting -= 1


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: ``json`` would keep the last one silently."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _not_finite(_constant: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


def _number_ok(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return bool(-LARGEST < value < LARGEST)
    return True


LARGEST = 10**MAX_DIGITS


def _bad_number(where: Location, field: str | None) -> NoReturn:
    what = "is a number" if field else "holds a number"
    raise SpecError(
        where,
        field,
        f"{what} that is infinite, NaN or longer than {MAX_DIGITS} digits",
        "write a plain number, or quote it to make it a string",
    )


def _too_deep(file: Path) -> NoReturn:
    raise SpecError(file.name, None, NESTED, "flatten it") from None


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
    if isinstance(exc, DuplicateKeyError):  # its message quotes both values
        key = DUPLICATE.match(str(getattr(exc, "problem", "")))
        return f"the key '{excerpt(key.group(1))}' is given twice" if key else "a key is twice"
    problem = getattr(exc, "problem", None) or exc.__class__.__name__
    return _unquoted(str(problem))


def _unquoted(message: str) -> str:
    """A parser's message without the text it quotes (a character such as ``'\\t'``
    stays): what it quotes may be a config var's value."""

    def keep(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if len(inner) <= MAX_QUOTED else "..."

    return " ".join(QUOTED.sub(keep, message).split())
