"""The user's ``~/.netrc`` (or ``$NETRC``): ``shipway login`` writes the server host's
entry there, so that git (through curl) sends the token when it pushes to the server;
``shipway logout`` takes it out again.

Only the entries of that one host are touched; every other line of the file (other
machines, ``default``, ``macdef`` bodies, comments) stays as it was. The file is written
whole to a temporary file of mode 0600 beside it, then renamed over it.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(r"\S+")
_VALUED = {"login", "password", "account", "port"}


def netrc_path() -> Path:
    return Path(os.environ.get("NETRC") or Path.home() / ".netrc")


@dataclass(frozen=True)
class Entry:
    """One entry of the file: where it starts and ends, its host (None for ``default``
    and ``macdef``) and its password."""

    start: int
    end: int
    host: str | None
    password: str | None = None


def entries(text: str) -> list[Entry]:
    tokens = _tokens(text)
    found: list[tuple[int, str | None, str | None]] = []  # start, host, password
    i = 0
    while i < len(tokens):
        start, word = tokens[i]
        if word == "machine":
            found.append((start, tokens[i + 1][1] if i + 1 < len(tokens) else "", None))
            i += 2
            continue
        if word in ("default", "macdef"):
            found.append((start, None, None))
            i += 2 if word == "macdef" else 1
            continue
        if word in _VALUED:
            if word == "password" and found and i + 1 < len(tokens):
                begin, named, _ = found[-1]
                found[-1] = (begin, named, tokens[i + 1][1])
            i += 2
            continue
        i += 1
    ends = [start for start, _, _ in found[1:]] + [len(text)] * bool(found)
    return [Entry(s, e, h, p) for (s, h, p), e in zip(found, ends, strict=True)]


def _tokens(text: str) -> list[tuple[int, str]]:
    """The words of the file with their offsets; comments and macro bodies (up to the
    next empty line) are not words."""
    words: list[tuple[int, str]] = []
    pos = 0
    while (match := _TOKEN.search(text, pos)) is not None:
        word = match.group()
        if word.startswith("#"):
            newline = text.find("\n", match.start())
            pos = len(text) if newline < 0 else newline + 1
            continue
        words.append((match.start(), word))
        pos = match.end()
        if word == "macdef":
            name = _TOKEN.search(text, pos)
            if name is None:
                break
            words.append((name.start(), name.group()))
            blank = text.find("\n\n", name.end())
            pos = len(text) if blank < 0 else blank + 2
    return words


def with_entry(text: str, host: str, login: str, password: str) -> str:
    """``text`` with ``host``'s entries replaced by one with this login and password,
    placed before a ``default`` entry (which must come last)."""
    kept = without(text, host, None)
    line = f"machine {host} login {login} password {password}\n"
    default = next((e for e in entries(kept) if kept.startswith("default", e.start)), None)
    if default is not None:
        return kept[: default.start] + line + kept[default.start :]
    if kept and not kept.endswith("\n"):
        kept += "\n"
    return kept + line


def without(text: str, host: str, password: str | None) -> str:
    """``text`` without ``host``'s entries (only the one with ``password``, if given)."""
    for entry in reversed(entries(text)):
        if entry.host == host and (password is None or entry.password == password):
            text = text[: entry.start] + text[entry.end :]
    return text


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _write(path: Path, text: str) -> None:
    path = path.resolve()  # a symlinked ~/.netrc (dotfiles) keeps its link
    fd, temporary = tempfile.mkstemp(prefix=".netrc.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as file:
            os.fchmod(fd, 0o600)
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_entry(host: str, login: str, password: str) -> Path:
    path = netrc_path()
    _write(path, with_entry(_read(path), host, login, password))
    return path


def remove_entry(host: str, password: str) -> bool:
    """Take out the entry ``save_entry`` wrote (the host's, with this password); an
    entry of the host with another password is the user's own, and stays."""
    path = netrc_path()
    text = _read(path)
    kept = without(text, host, password)
    if kept == text:
        return False
    _write(path, kept)
    return True
