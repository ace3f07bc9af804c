"""What an app's own Dockerfile says about running it: ``CMD``, ``ENTRYPOINT``, ``EXPOSE``.

An app with a Dockerfile is built with it (the image keeps its own command), but the
command and ports it declares still tell which port the app listens on, and a builder
that does not run the Dockerfile can use its command as the web command. Only the final
stage counts: it is the image that runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from shipway.detect import files
from shipway.detect.listen import port_number
from shipway.errors import SpecError
from shipway.spec import documents

FILENAME = "Dockerfile"
INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.S)
VARIABLE = re.compile(r"^\$\{?(\w+)\}?$")


@dataclass(frozen=True)
class Dockerfile:
    #: ``CMD`` alone: a shell string or an exec-form list.
    cmd: str | list[str] | None = None
    #: What the container runs: ``ENTRYPOINT`` and ``CMD`` combined as Docker does.
    command: list[str] | None = None
    expose: int | None = None
    #: ``ENV PORT=…`` (or ``ARG PORT=…``) of the final stage.
    env_port: int | None = None


def read(app_dir: Path) -> Dockerfile | None:
    content = files.text(app_dir, FILENAME)
    return None if content is None else parse(content)


def parse(content: str) -> Dockerfile:
    state: dict[str, str | list[str] | None] = {}
    env: dict[str, str] = {}
    expose: list[str] = []
    for line in _logical_lines(content):
        match = INSTRUCTION.match(line)
        if match is None:
            continue
        keyword, rest = match.group(1).upper(), match.group(2).strip()
        if keyword == "FROM":
            state, env, expose = {}, {}, []
        elif keyword in ("CMD", "ENTRYPOINT"):
            state[keyword] = _command(rest)
        elif keyword in ("ENV", "ARG"):
            env.update(_assignments(rest))
        elif keyword == "EXPOSE":
            expose += rest.split()
    cmd, entrypoint = state.get("CMD"), state.get("ENTRYPOINT")
    return Dockerfile(
        cmd=cmd,
        command=_combined(entrypoint, cmd),
        expose=next((p for p in (_port(e, env) for e in expose) if p), None),
        env_port=_port(env.get("PORT", ""), {}),
    )


def _logical_lines(content: str) -> list[str]:
    """Lines joined across ``\\`` continuations, comment lines dropped."""
    lines: list[str] = []
    current = ""
    for raw in content.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    return [*lines, current] if current else lines


def _command(rest: str) -> str | list[str] | None:
    if rest.startswith("["):
        try:  # Docker reads what is not a JSON array of strings as the shell form
            value = documents.parse_json(rest, Path(FILENAME)).data
        except SpecError:
            return rest
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value or None
    return rest or None


def _combined(entrypoint: object, cmd: object) -> list[str] | None:
    def argv(value: object) -> list[str]:
        if isinstance(value, list):
            return value
        return ["/bin/sh", "-c", value] if isinstance(value, str) else []

    if isinstance(entrypoint, str):
        return argv(entrypoint)
    return (argv(entrypoint) + argv(cmd)) or None


def _assignments(rest: str) -> dict[str, str]:
    """``ENV A=1 B="x y"`` or the legacy ``ENV A 1``."""
    try:
        words = shlex.split(rest)
    except ValueError:
        return {}
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words if "=" in word)


def _port(text: str, env: dict[str, str]) -> int | None:
    """``8000``, ``8000/tcp`` or ``$PORT`` (resolved from the stage's ``ENV``/``ARG``)."""
    text = text.split("/", 1)[0]
    variable = VARIABLE.match(text)
    if variable:
        text = env.get(variable.group(1), "")
    return port_number(text)
