"""Facts about a Python app read from its files: version, dependencies, port."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import ValidationError

from shipway.detect.plan import Dependencies
from shipway.errors import Location, SpecError, validation_message
from shipway.spec.model import SUPPORTED_PYTHON, AppSpec, Runtime

DEFAULT_PYTHON = "3.12"
DEFAULT_PORT = 5000


def version(app_dir: Path, spec: AppSpec) -> tuple[str, str]:
    """The Python version and the file it came from (``default`` when none says)."""
    if spec.runtime.version:
        return spec.runtime.version, "app spec"
    for name, read in (
        ("runtime.txt", _runtime_txt),
        (".python-version", _python_version),
        ("pyproject.toml", _requires_python),
    ):
        file = app_dir / name
        if file.is_file():
            found = read(file)
            if found:
                return _checked(found, file), name
    return DEFAULT_PYTHON, "default"


def _checked(value: str, file: Path) -> str:
    try:
        return Runtime(version=value).version or DEFAULT_PYTHON
    except ValidationError as exc:
        problem, fix = validation_message(str(exc.errors()[0]["msg"]), "write e.g. 3.12")
        raise SpecError(Location(file, 1), "version", problem, fix) from None


def _runtime_txt(file: Path) -> str | None:
    text = _text(file).strip()
    match = re.fullmatch(r"python-(\S+)", text)
    if not match:
        raise SpecError(
            Location(file, 1),
            "runtime",
            f"'{text[:40]}' is not a Python runtime",
            "write e.g. 'python-3.12.4'",
        )
    return match.group(1)


def _python_version(file: Path) -> str | None:
    lines = [line.strip() for line in _text(file).splitlines() if line.strip()]
    return lines[0].removeprefix("python-").removeprefix("cpython-") if lines else None


def _requires_python(file: Path) -> str | None:
    spec = _project_table(file).get("requires-python")
    if not isinstance(spec, str):
        return None
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        raise SpecError(
            file.name,
            "project.requires-python",
            f"'{spec}' is not a specifier",
            "write e.g. '>=3.11'",
        ) from None
    matching = [v for v in SUPPORTED_PYTHON if allowed.contains(f"{v}.0", prereleases=True)]
    if not matching:
        raise SpecError(
            file.name,
            "project.requires-python",
            f"no supported Python satisfies '{spec}'",
            f"allow one of {', '.join(SUPPORTED_PYTHON)}",
        )
    return max(matching, key=lambda v: int(v.split(".")[1]))


def dependencies(app_dir: Path) -> Dependencies:
    """The first dependency file found, as Heroku's buildpack looks for them."""
    if (app_dir / "requirements.txt").is_file():
        names = _requirement_names(_text(app_dir / "requirements.txt").splitlines())
        return Dependencies(kind="requirements", file="requirements.txt", names=names)
    pyproject = app_dir / "pyproject.toml"
    if pyproject.is_file():
        project = _project_table(pyproject)
        listed = project.get("dependencies", [])
        poetry = _toml(pyproject).get("tool", {}).get("poetry", {}).get("dependencies", {})
        names = _requirement_names([*listed, *poetry]) if isinstance(listed, list) else []
        return Dependencies(kind="pyproject", file="pyproject.toml", names=names)
    if (app_dir / "Pipfile").is_file():
        packages = _toml(app_dir / "Pipfile").get("packages", {})
        names = list(packages) if isinstance(packages, dict) else []
        return Dependencies(kind="pipfile", file="Pipfile", names=_requirement_names(names))
    if (app_dir / "setup.py").is_file():
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


def _toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(file))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(file.name, None, f"invalid TOML ({exc})", "fix its syntax") from None


def _project_table(file: Path) -> dict[str, Any]:
    project = _toml(file).get("project", {})
    return project if isinstance(project, dict) else {}


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise SpecError(file.name, None, "cannot be read as UTF-8 text", "check the file") from None


def exposed_port(dockerfile: Path) -> int | None:
    match = re.search(r"^\s*EXPOSE\s+(\d{1,5})", _text(dockerfile), re.MULTILINE | re.I)
    return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None


def script_of(command: str | list[str]) -> str | None:
    """``app.py`` in ``python app.py``, the file whose source may name the port."""
    try:
        parts = shlex.split(command) if isinstance(command, str) else command
    except ValueError:
        return None
    scripts = [p for p in parts if p.endswith(".py") and ".." not in p]
    return scripts[0] if scripts else None


PORT_IN_SOURCE = (
    re.compile(r"\bport\s*=\s*(\d{2,5})\b"),
    re.compile(r"""["']PORT["']\s*,\s*["']?(\d{2,5})"""),
)


def port_in_source(file: Path) -> int | None:
    if not file.is_file():
        return None
    try:
        source = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for pattern in PORT_IN_SOURCE:
        match = pattern.search(source)
        if match and 0 < int(match.group(1)) < 65536:
            return int(match.group(1))
    return None
