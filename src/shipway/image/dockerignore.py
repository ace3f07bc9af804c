"""``.dockerignore`` read and applied as Docker does: BuildKit's rules, not git's.

Docker's reader (moby's ``ignorefile.ReadAll``), its matcher (``moby/patternmatcher``)
and the way BuildKit's context walk (``fsutil``) uses them, written again here so that
the daemonless builder ships exactly the files ``docker build`` would:

- a UTF-8 BOM at the start is dropped; a line whose first character is ``#`` is a
  comment (`` #x`` is a pattern); other lines are trimmed of surrounding white space;
- a leading ``!`` makes the line an exception (it re-includes), trimmed again after;
- a pattern is cleaned as Go's ``filepath.Clean`` does (``./x``, ``x/``, ``a/../x`` are
  ``x``) and loses a leading ``/``: every pattern starts at the context's root, so
  ``foo`` never matches ``a/foo`` (``**/foo`` does);
- ``*`` and ``?`` match inside one path element, ``**`` any number of elements (none
  too), ``[…]`` one character of a class, ``\\`` makes the next character literal;
- patterns apply in order and the last one matching a path decides; a pattern matching
  a directory matches everything below it;
- an excluded directory is still walked only when an exception might re-include
  something in it (one naming a path below it, or any exception with wildcards).

One deliberate difference: Docker turns a pattern into a Go regular expression, which
runs in linear time; Python's backtracking ``re`` would take exponential time on a
hostile pattern such as ``**/a*a*a*a*a*a*b``, so the wildcards run here as a small
automaton instead. Inside a ``[…]`` class, ``*`` and ``?`` are the characters themselves
(Docker's translation garbles them there); a class is otherwise the regular
expression's.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from shipway.errors import SpecError

FILE = ".dockerignore"
#: Real files hold tens of patterns; every file of the app is checked against each.
MAX_PATTERNS = 2000
#: Where a walk keeps results of automaton steps; cleared when full (a hostile name
#: could otherwise grow it without end).
MAX_CACHED_STEPS = 65536
#: The characters that make an exception a wildcard one (fsutil's list).
WILDCARDS = "*[]?^\\"
#: Go's ``unicode.IsSpace``: Python's ``str.isspace`` also counts \\x1c-\\x1f.
NOT_GO_SPACE = "\x1c\x1d\x1e\x1f"


class Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"  # "x**": the path starts with "x"
    SUFFIX = "suffix"  # "**x": the path ends with "x"
    AUTOMATON = "automaton"


class Op(Enum):
    CHAR = "char"  # one character the test accepts
    STAR = "star"  # [^/]*
    DEEP = "deep"  # (.*/)?  any number of leading elements
    REST = "rest"  # .*     a trailing ** after other wildcards
    START = "start"  # ^      an anchor: only at the very start


class Token(NamedTuple):
    """One step of a pattern: a character, or one of the repeating ``Op`` forms."""

    op: Op
    literal: str | None = None  # the character, for a literal CHAR
    test: re.Pattern[str] | None = None  # a class or escape, for another CHAR

    def accepts(self, char: str) -> bool:
        if self.literal is not None:
            return char == self.literal
        assert self.test is not None
        return self.test.fullmatch(char) is not None


#: The loops of STAR (``[^/]*``) and REST (``.*``), and the one character each stops at.
STOPS = {Op.STAR: "/", Op.REST: "\n"}
#: ``?``: any one character but ``/``.
ONE_CHAR = Token(Op.CHAR, test=re.compile("[^/]"))


@dataclass
class Glob:
    """A wildcard pattern as tokens, matched by a Thompson simulation: time linear in
    the path's length, whatever the pattern (git's rules use it too)."""

    tokens: tuple[Token, ...]
    _start: frozenset[int] | None = None
    _steps: dict[tuple[frozenset[int], str], frozenset[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Literal text every match starts and ends with: a cheap test first.
        self.head, self.tail = _literal_ends(self.tokens)

    def matches(self, path: str) -> bool:
        if not (path.startswith(self.head) and path.endswith(self.tail)):
            return False
        if self._start is None:
            self._start = _closure(self.tokens, {0}, at_start=True)
        states = self._start
        for char in path:
            key = (states, char)
            after = self._steps.get(key)
            if after is None:
                if len(self._steps) >= MAX_CACHED_STEPS:
                    self._steps.clear()
                after = self._steps[key] = _step(self.tokens, states, char)
            states = after
            if not states:
                return False
        return 2 * len(self.tokens) in states


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    kind: Kind
    glob: Glob

    def matches(self, path: str) -> bool:
        if self.kind is Kind.EXACT:
            return path == self.text
        if self.kind is Kind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is Kind.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self.glob.matches(path)


@dataclass(frozen=True)
class DockerIgnore:
    patterns: tuple[Pattern, ...]

    def match(self, path: str, parent: tuple[bool, ...]) -> tuple[bool, tuple[bool, ...]]:
        """Whether ``path`` is excluded, and which patterns matched it, for its children
        (``parent``: those of its directory; empty at the root). patternmatcher's
        ``MatchesUsingParentResults``: a pattern that matched a directory matches what it
        holds, and a pattern is only tried where it could change the outcome."""
        excluded = False
        matched = []
        for index, pattern in enumerate(self.patterns):
            hit = bool(parent) and parent[index]
            if not hit and pattern.exclusion == excluded:
                hit = pattern.matches(path)
            matched.append(hit)
            if hit:
                excluded = not pattern.exclusion
        return excluded, tuple(matched)

    def walks_into(self, directory: str) -> bool:
        """Whether the walk enters an excluded ``directory``: an exception may
        re-include something in it (fsutil's rule)."""
        exceptions = [p.text for p in self.patterns if p.exclusion]
        if any(any(c in WILDCARDS for c in _without_trailing_glob(p)) for p in exceptions):
            return True
        return any(f"{_without_trailing_glob(p)}/".startswith(f"{directory}/") for p in exceptions)


def parse(text: str) -> DockerIgnore:
    """The patterns of a ``.dockerignore`` (its text, a BOM already dropped)."""
    patterns: list[Pattern] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line.startswith("#"):
            continue
        line = _trim(line)
        if not line:
            continue
        if len(patterns) >= MAX_PATTERNS:
            raise SpecError(FILE, None, f"has more than {MAX_PATTERNS} patterns", "merge some")
        patterns.append(_pattern(line, f"{FILE}:{number}"))
    return DockerIgnore(tuple(patterns))


def _pattern(line: str, where: str) -> Pattern:
    exclusion = line.startswith("!")
    text = _trim(line[1:]) if exclusion else line
    text = _clean(text) if text else text
    if not text or (exclusion and text == "/"):  # Docker refuses both ("!" once cleaned)
        raise SpecError(where, None, "'!' alone re-includes nothing", "name what to re-include")
    if len(text) > 1 and text.startswith("/"):
        text = text[1:]
    kind, tokens = _compile(text, where)
    return Pattern(text, exclusion, kind, Glob(tokens))


def _compile(text: str, where: str) -> tuple[Kind, tuple[Token, ...]]:
    """patternmatcher's ``compile``, step for step, making tokens instead of a regexp."""
    kind, tokens, i, first = Kind.EXACT, [], 0, True
    while i < len(text):
        char, i = text[i], i + 1
        if char == "*" and text[i : i + 1] == "*":  # some flavour of "**"
            i += 1 + (text[i + 1 : i + 2] == "/")
            if i < len(text):
                tokens.append(Token(Op.DEEP))
                kind = Kind.AUTOMATON
            elif kind is Kind.EXACT:
                kind = Kind.PREFIX
            else:
                tokens.append(Token(Op.REST))
                kind = Kind.AUTOMATON
            kind = Kind.SUFFIX if first else kind
        elif char in "*?[]\\":
            token, i = _wildcard(text, i - 1, where)
            tokens.append(token)
            kind = Kind.AUTOMATON
        elif char == "^":
            tokens.append(Token(Op.START))
        else:
            tokens.append(Token(Op.CHAR, char))
        first = False
    return kind, tuple(tokens)


def _wildcard(text: str, start: int, where: str) -> tuple[Token, int]:
    """The token of ``*``, ``?``, a class or an escape at ``start``, and where it ends."""
    char = text[start]
    if char == "*":
        return Token(Op.STAR), start + 1
    if char == "?":
        return ONE_CHAR, start + 1
    if char == "]":
        return Token(Op.CHAR, "]"), start + 1
    if char == "\\":
        if start + 1 == len(text):
            raise SpecError(where, None, "ends with a lone '\\'", "escape it as '\\\\'")
        escaped = text[start + 1]
        if escaped.isascii() and escaped.isalnum():  # \d, \w, \s…: a class in a regexp
            return Token(Op.CHAR, test=_regex(f"\\{escaped}", where)), start + 2
        return Token(Op.CHAR, escaped), start + 2
    end = class_end(text, start)
    if end is None:
        raise SpecError(where, None, "has a '[' that is never closed", "close it with ']'")
    return Token(Op.CHAR, test=_regex(text[start:end], where)), end


def class_end(text: str, start: int) -> int | None:
    """The index after the ``]`` closing the class at ``start`` (a ``]`` first in it,
    after an optional ``^``, is a member, as in Go's and Python's regexps)."""
    i = start + 1
    i += text[i : i + 1] == "^"
    i += text[i : i + 1] == "]"
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == "]":
            return i + 1
        else:
            i += 1
    return None


def _regex(source: str, where: str) -> re.Pattern[str]:
    compiled = one_char(source)
    if compiled is None:
        raise SpecError(where, None, "is not a valid pattern", "fix its [...] or \\")
    return compiled


def one_char(source: str) -> re.Pattern[str] | None:
    """A regexp (a class, an escape) tested against one character; None if invalid."""
    try:
        with warnings.catch_warnings():  # "possible nested set" for [[…]
            warnings.simplefilter("ignore")
            return re.compile(source)
    except re.error:
        return None


def _literal_ends(tokens: tuple[Token, ...]) -> tuple[str, str]:
    literal = [t.literal if t.op is Op.CHAR else None for t in tokens]
    head = []
    for char in literal:
        if char is None:
            break
        head.append(char)
    tail = []
    for char in reversed(literal):
        if char is None:
            break
        tail.append(char)
    if len(head) == len(tokens):
        return "".join(head), ""
    return "".join(head), "".join(reversed(tail))


def _closure(tokens: tuple[Token, ...], states: set[int], at_start: bool) -> frozenset[int]:
    """``2p``: before token ``p`` (STAR and REST loop there); ``2p+1``: inside DEEP's
    ``.*``, which only a ``/`` leaves."""
    pending, seen = list(states), set(states)
    while pending:
        state = pending.pop()
        position, inside = divmod(state, 2)
        if inside or position == len(tokens):
            continue
        op = tokens[position].op
        following = []
        if op in (Op.STAR, Op.DEEP, Op.REST) or (op is Op.START and at_start):
            following.append(2 * position + 2)
        if op is Op.DEEP:
            following.append(state + 1)
        for new in following:
            if new not in seen:
                seen.add(new)
                pending.append(new)
    return frozenset(seen)


def _step(tokens: tuple[Token, ...], states: frozenset[int], char: str) -> frozenset[int]:
    after = set()
    for state in states:
        position, inside = divmod(state, 2)
        if position == len(tokens):
            continue
        token = tokens[position]
        if inside and char != "\n":  # DEEP's ".": any character but a newline
            after.add(state)
            if char == "/":
                after.add(2 * position + 2)
        elif not inside and token.op in STOPS and char != STOPS[token.op]:
            after.add(state)
        elif not inside and token.op is Op.CHAR and token.accepts(char):
            after.add(2 * position + 2)
    return _closure(tokens, after, at_start=False)


def _clean(path: str) -> str:
    """Go's ``filepath.Clean``: ``posixpath.normpath``, but ``//x`` is ``/x`` there too."""
    cleaned = posixpath.normpath(path)
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def _trim(text: str) -> str:
    """Go's ``strings.TrimSpace``."""
    start, end = 0, len(text)
    while start < end and _is_go_space(text[start]):
        start += 1
    while end > start and _is_go_space(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_go_space(char: str) -> bool:
    return char.isspace() and char not in NOT_GO_SPACE


def _without_trailing_glob(pattern: str) -> str:
    return pattern.removesuffix("/**").removesuffix("/*")
