"""``.gitignore`` read by git's rules, for an app without a ``.dockerignore``.

As ``gitignore(5)`` says: ``#`` starts a comment, trailing spaces are dropped unless
escaped, ``!`` re-includes, a trailing ``/`` matches directories only, a pattern with
no other ``/`` matches a name at any depth (else it starts at the root), ``*`` and ``?``
stay inside one path element, ``[…]`` is a class (``[!…]`` negated), a leading ``**/``,
a middle ``/**/`` and a trailing ``/**`` span directories, ``\\`` makes the next
character literal, and the last matching line wins. The walk never enters an excluded
directory, so nothing in it can be re-included, as in git.

The patterns run on ``dockerignore``'s automaton: a regular-expression translation (as
the ``pathspec`` library does) backtracks for hours on a line like ``a*a*a*a*a*a*a*b``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipway.image.dockerignore import ONE_CHAR, Glob, Op, Token, class_end, one_char


@dataclass(frozen=True)
class Rule:
    glob: Glob
    negated: bool
    dir_only: bool


@dataclass(frozen=True)
class GitIgnore:
    rules: tuple[Rule, ...]

    def excluded(self, path: str, is_dir: bool) -> bool:
        result = False
        for rule in self.rules:
            if (is_dir or not rule.dir_only) and rule.glob.matches(path):
                result = not rule.negated
        return result


def parse(lines: list[str]) -> GitIgnore:
    return GitIgnore(tuple(rule for line in lines if (rule := _rule(line)) is not None))


def _rule(line: str) -> Rule | None:
    line = line.removesuffix("\r")
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    line = line.removeprefix("!")
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line  # a separator at the start or in the middle
    tokens = _tokens(line.removeprefix("/"))
    return Rule(Glob(tokens if anchored else (Token(Op.DEEP), *tokens)), negated, dir_only)


def _tokens(text: str) -> tuple[Token, ...]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("**", i) and _whole_element(text, i):
            at_end = i + 2 == len(text)
            tokens.append(Token(Op.REST if at_end else Op.DEEP))
            i += 2 if at_end else 3  # "**/" takes its slash
            continue
        if char == "*":
            tokens.append(Token(Op.STAR))
        elif char == "?":
            tokens.append(ONE_CHAR)
        elif char == "[" and (end := class_end(text, i)) is not None:
            body = text[i + 1 : end - 1]
            test = one_char(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            if test is not None:
                tokens.append(Token(Op.CHAR, test=test))
                i = end
                continue
            tokens.append(Token(Op.CHAR, char))  # git reads a broken class literally
        elif char == "\\" and i + 1 < len(text):
            i += 1
            tokens.append(Token(Op.CHAR, text[i]))
        else:
            tokens.append(Token(Op.CHAR, char))
        i += 1
    return tuple(tokens)


def _whole_element(text: str, start: int) -> bool:
    """Whether the ``**`` at ``start`` is a path element of its own (else it is two
    plain asterisks, as git reads ``a**b``)."""
    before = start == 0 or text[start - 1] == "/"
    after = start + 2 == len(text) or text[start + 2] == "/"
    return before and after
