"""Facts about a Python app read from its files: its dependencies, a port in its source."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from shipway.detect import files
from shipway.detect.listen import port_number
from shipway.detect.plan import Dependencies

DEFAULT_PORT = 5000


def dependencies(app_dir: Path) -> Dependencies:
    """The first dependency file found, as Heroku's buildpack looks for them."""
    requirements = files.text(app_dir, "requirements.txt", files.MAX_REQUIREMENTS_BYTES)
    if requirements is not None:
        names = _requirement_names(requirements.splitlines())
        return Dependencies(kind="requirements", file="requirements.txt", names=names)
    pyproject = files.toml(app_dir, "pyproject.toml")
    if pyproject is not None:
        listed = files.table(pyproject, "project").get("dependencies", [])
        poetry = files.table(pyproject, "tool", "poetry", "dependencies")
        names = _requirement_names([*listed, *poetry]) if isinstance(listed, list) else []
        return Dependencies(kind="pyproject", file="pyproject.toml", names=names)
    pipfile = files.toml(app_dir, "Pipfile")
    if pipfile is not None:
        packages = list(files.table(pipfile, "packages"))
        return Dependencies(kind="pipfile", file="Pipfile", names=_requirement_names(packages))
    if files.app_file(app_dir, "setup.py") is not None:
        return Dependencies(kind="setup", file="setup.py", names=[])
    return Dependencies()


def _requirement_names(lines: list[Any]) -> list[str]:
    names = set()
    for raw in lines:
        line = str(raw).split("#", 1)[0].strip().strip('"')
        if not line or line.startswith("-") or line.lower() == "python":
            continue
        try:
            names.add(normalise(Requirement(line).name))
        except InvalidRequirement:
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if match:
                names.add(normalise(match.group(0)))
    return sorted(names)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


PORT_IN_SOURCE = (
    re.compile(r"\bport\s*=\s*(\d{2,5})\b"),
    re.compile(r"""["']PORT["']\s*,\s*["']?(\d{2,5})"""),
)


def port_in_source(app_dir: Path, script: str) -> int | None:
    """A port the script names (``app.run(port=8081)``, ``getenv("PORT", 8000)``)."""
    source = files.source(app_dir, script)
    for pattern in PORT_IN_SOURCE:
        match = pattern.search(source)
        if match and port_number(match.group(1)):
            return int(match.group(1))
    return None
