"""A start command, as a shell would read it, down to the program that serves the app.

Procfile lines and platform start commands are shell strings: ``cd src && exec
poetry run gunicorn -b 0.0.0.0:${PORT:-8000} app:app``. This finds the simple commands
in them, strips what only wraps the server (``exec``, ``env``, assignments, ``sh -c``,
``poetry run``, ``python -m``…) and expands parameters the way the pod will: Shipway
always sets ``PORT``, so ``${PORT:-8000}`` is ``$PORT``, while other variables take
their default. Nothing is run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

PORT_REF = "$PORT"
#: Stands for a value that cannot be known before the app runs.
UNKNOWN = "$?"
EXPANSION = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-=?+])(?P<default>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_]\w*))"
)
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
SEPARATOR_CHARS = frozenset("&|;()")
#: Redirections (``> log``, ``2>&1``, ``&>/dev/null``) are no arguments: dropped first.
REDIRECTION = re.compile(r"(?:(?<=\s)|^)(?:&|\d*)(?:>>?|<)&?\s*[^\s;&|<>()\"']+")
SHELLS = frozenset({"sh", "bash", "dash", "zsh"})
PREFIXES = frozenset({"exec", "nohup", "command", "time", "ddtrace-run"})
EVERY_OPTION = "--*"
#: Runners followed by the command they run; the value is their options taking a value.
RUNNERS: dict[tuple[str, ...], frozenset[str]] = {
    ("poetry", "run"): frozenset({"-C", "--directory", "-P", "--project"}),
    ("pipenv", "run"): frozenset(),
    ("pdm", "run"): frozenset({"-p", "--project"}),
    ("hatch", "run"): frozenset(),
    ("rye", "run"): frozenset(),
    ("uv", "run"): frozenset(
        {
            "--with",
            "--python",
            "-p",
            "--env-file",
            "--group",
            "--extra",
            "--package",
            "--directory",
            "--project",
            "--with-requirements",
            "--index",
            "--index-url",
        }
    ),
    ("newrelic-admin", "run-program"): frozenset(),
    ("opentelemetry-instrument",): frozenset({"--*"}),
    ("env",): frozenset({"-u", "--unset", "-C", "--chdir"}),
}
PYTHON = re.compile(r"^python(\d(\.\d+)?)?$")
PYTHON_VALUE_OPTIONS = frozenset({"-X", "-W", "-Q"})
MAX_DEPTH = 3


@dataclass(frozen=True)
class Simple:
    """One simple command: ``program`` (``uvicorn``; ``-m http.server``) and its args."""

    program: str
    raw_args: list[str]
    #: Variables assigned for this command only (``PORT=8080 gunicorn …``).
    env: dict[str, str]
    #: Exec form (no shell): only Kubernetes' ``$(VAR)`` expands.
    exec_form: bool = False
    #: The program as written (``bin/start-web``, ``.venv/bin/gunicorn``).
    path: str = ""

    @property
    def args(self) -> list[str]:
        """The arguments as the program receives them (parameters expanded)."""
        if self.exec_form:
            return [_exec_form(arg) for arg in self.raw_args]
        return [expand(arg, self.env) for arg in self.raw_args]

    @property
    def literal_port(self) -> bool:
        """An exec-form argument with ``$PORT``, which no shell will expand."""
        return self.exec_form and any(re.search(r"\$\{?PORT\b", arg) for arg in self.raw_args)


def simple_commands(command: str | list[str], depth: int = 0) -> list[Simple]:
    """The simple commands a start command (or script) runs, in order; a line that
    cannot be read (unbalanced quotes) gives none."""
    if isinstance(command, list):
        return _unwrap(list(command), {}, depth, exec_form=True)
    found: list[Simple] = []
    for line in REDIRECTION.sub(" ", command).replace("\\\n", " ").split("\n"):
        for words in _split(_tokens(line)):
            found += _unwrap(words, {}, depth, exec_form=False)
    return found


def _tokens(line: str) -> list[str]:
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return []


def _split(tokens: list[str]) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for token in tokens:
        if set(token) <= SEPARATOR_CHARS or token[0] in "<>":
            groups.append([])
        else:
            groups[-1].append(token)
    return [group for group in groups if group]


def _unwrap(words: list[str], env: dict[str, str], depth: int, exec_form: bool) -> list[Simple]:
    while words and ASSIGNMENT.match(words[0]) and not exec_form:
        name, _, value = words[0].partition("=")
        env = {**env, name: expand(value, env)}
        words = words[1:]
    if not words or depth > MAX_DEPTH:
        return []
    program = words[0].rsplit("/", 1)[-1]
    if program in PREFIXES:
        return _unwrap(words[1:], env, depth, exec_form)
    if program in SHELLS and "-c" in words[1:2] and len(words) > 2:
        return [_with_env(s, env) for s in simple_commands(words[2], depth + 1)]
    rest = _runner_rest(words)
    if rest is not None:
        return _unwrap(rest, env, depth + 1, exec_form)
    if PYTHON.match(program):
        return [_python(words[1:], env, exec_form)]
    return [Simple(program, words[1:], env, exec_form, words[0])]


def _runner_rest(words: list[str]) -> list[str] | None:
    """What a runner (``poetry run X``, ``env A=1 X``) runs, or ``None`` if not a runner."""
    name = words[0].rsplit("/", 1)[-1]
    for runner, valued in RUNNERS.items():
        if (name, *words[1 : len(runner)]) != runner:
            continue
        rest = words[len(runner) :]
        while rest and rest[0].startswith("-"):
            takes_value = "=" not in rest[0] and (rest[0] in valued or EVERY_OPTION in valued)
            rest = rest[2:] if takes_value else rest[1:]
        return rest
    return None


def _python(args: list[str], env: dict[str, str], exec_form: bool) -> Simple:
    """``python [opts] -m module args`` → program ``-m module``; a script → ``python``."""
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "-m":
        rest = rest[2:] if rest[0] in PYTHON_VALUE_OPTIONS else rest[1:]
    if len(rest) >= 2 and rest[0] == "-m":
        return Simple(f"-m {rest[1]}", rest[2:], env, exec_form)
    return Simple("python", rest, env, exec_form)


def _with_env(simple: Simple, env: dict[str, str]) -> Simple:
    return replace(simple, env={**env, **simple.env})


def _exec_form(word: str) -> str:
    """Kubernetes expands ``$(VAR)`` in a container's command; any other ``$`` stays."""
    kube = re.sub(r"\$\((\w+)\)", r"${\1}", re.sub(r"\$(?!\()", UNKNOWN, word))
    return expand(kube, {})


def expand(word: str, env: dict[str, str]) -> str:
    """``word`` with parameters expanded: PORT stays ``$PORT``, others their default."""

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        if name in env:
            return env[name]
        if name == "PORT":
            return PORT_REF
        if match.group("op") in (":-", "-", ":=", "=") and match.group("default") is not None:
            return match.group("default")
        return UNKNOWN

    return EXPANSION.sub(value, word)
