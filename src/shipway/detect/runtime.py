"""Which Python the app wants (a preferred version) and accepts (a constraint).

Precedence of the preferred version, as Heroku's buildpack and pyenv/uv see it:
the app spec → ``runtime.txt`` → ``.python-version`` → ``.tool-versions`` (asdf) →
``Pipfile`` → App Engine's ``app.yaml`` (``runtime: python313``) → ``requires-python``/
Poetry's ``python`` → the default. The constraint is
what ``requires-python``, Poetry's ``python`` and the Pipfile allow together; the
platform uses both to pick a base image (``allowed_minors``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import SpecifierSet
from pydantic import ValidationError

from shipway.detect import constraints, files, platforms
from shipway.detect import pyversion as pv
from shipway.errors import Location, SpecError, excerpt, validation_message
from shipway.spec.model import SUPPORTED_PYTHON, AppSpec, Runtime

DEFAULT_PYTHON = "3.12"
#: Sources whose version is an exact request: the base image may only be newer.
PINNED = frozenset(
    {"app spec", "runtime.txt", ".python-version", ".tool-versions", "Pipfile", "app.yaml"}
)


@dataclass(frozen=True)
class PythonChoice:
    version: str
    source: str
    constraint: str | None = None
    warnings: list[str] = field(default_factory=list)


def choose(app_dir: Path, spec: AppSpec) -> PythonChoice:
    allowed = constraints.read(app_dir)
    if spec.runtime.version:
        return _checked_choice(spec.runtime.version, "app spec", allowed)
    for name, words in (
        ("runtime.txt", _runtime_txt),
        (".python-version", _python_version_words),
        (".tool-versions", _tool_versions_words),
    ):
        content = files.text(app_dir, name)
        requests = words(content) if content is not None else []
        if requests:
            return _from_requests(app_dir / name, requests, allowed)
    pipfile = constraints.pipfile_version(app_dir)
    if pipfile:
        return _checked_choice(pipfile, "Pipfile", allowed)
    app_engine = platforms.app_engine_python(app_dir)
    if app_engine:
        return _checked_choice(app_engine, "app.yaml", allowed)
    return _from_constraint(allowed)


def _runtime_txt(content: str) -> list[pv.Request]:
    lines = [line.strip() for line in content.splitlines()]
    first = next((line for line in lines if line and not line.startswith("#")), "")
    number = 1 + lines.index(first) if first else 1
    request = pv.parse(first, number)
    if request.problem or request.version is None:
        raise SpecError(
            Location(Path("runtime.txt"), number),
            "runtime",
            f"'{excerpt(first)}' is not a Python runtime",
            "write e.g. 'python-3.12.4'",
        )
    return [request]


def _python_version_words(content: str) -> list[pv.Request]:
    """pyenv and uv: ``#`` comment lines; several versions, on lines or space-separated."""
    requests = []
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            continue
        requests += [pv.parse(w, number) for w in line.split() if w.lower() != "system"]
    return requests


def _tool_versions_words(content: str) -> list[pv.Request]:
    """asdf/mise: ``python 3.12.1 3.11.9`` lines among other tools'."""
    for number, raw in enumerate(content.split("\n"), start=1):
        words = raw.split("#", 1)[0].split()
        if words and words[0] == "python":
            return [pv.parse(w, number) for w in words[1:] if w.lower() != "system"]
    return []


def _from_requests(
    file: Path, requests: list[pv.Request], allowed: constraints.Allowed
) -> PythonChoice:
    """The first request Shipway supports that the constraint allows (uv), else the first
    supported one (pyenv: the first installed); with none, the first one's problem."""
    usable = [(r, _resolved(r, allowed.specifier)) for r in requests if _supported(r)]
    fitting = [(r, v) for r, v in usable if pv.version_allowed(v, allowed.specifier)]
    if fitting or usable:
        request, version = (fitting or usable)[0]
        return _checked_choice(version, file.name, allowed, Location(file, request.line))
    first = requests[0]
    where = Location(file, first.line)
    if first.problem:
        raise SpecError(where, "version", first.problem, "write e.g. 3.12")
    if first.version:
        _validated(first.version, where)
    raise SpecError(
        where, "version", f"no supported Python matches '{excerpt(first.text)}'", _fix()
    )


def _supported(request: pv.Request) -> bool:
    if request.version:
        return pv.minor_of(request.version) in SUPPORTED_PYTHON
    return bool(request.specifier is not None and pv.supported_minors(request.specifier))


def _resolved(request: pv.Request, allowed: SpecifierSet | None) -> str:
    if request.version:
        return request.version
    asked = request.specifier or SpecifierSet()
    both = asked & allowed if allowed is not None else asked
    fallback = pv.preferred(asked, DEFAULT_PYTHON) or DEFAULT_PYTHON
    return pv.preferred(both, DEFAULT_PYTHON) or fallback


def _checked_choice(
    version: str, source: str, allowed: constraints.Allowed, where: Location | None = None
) -> PythonChoice:
    version = _validated(version, where or Location(Path(source)))
    warnings = []
    if not pv.version_allowed(version, allowed.specifier):
        warnings.append(
            f"{source} asks for Python {version}, which {allowed.describe()} does not allow"
        )
    return PythonChoice(version, source, allowed.text, warnings)


def _from_constraint(allowed: constraints.Allowed) -> PythonChoice:
    if not allowed.parts:
        return PythonChoice(DEFAULT_PYTHON, "default")
    first = allowed.parts[0]
    version = pv.preferred(allowed.specifier, DEFAULT_PYTHON)
    if version is None:
        raise SpecError(
            first.file,
            first.field,
            f"no supported Python satisfies '{excerpt(allowed.text or '', 60)}'",
            f"allow one of {', '.join(pv.supported_minors(None))}",
        )
    return PythonChoice(version, first.file, allowed.text)


def _validated(version: str, where: Location) -> str:
    try:
        return Runtime(version=version).version or DEFAULT_PYTHON
    except ValidationError as exc:
        problem, fix = validation_message(str(exc.errors()[0]["msg"]), "write e.g. 3.12")
        raise SpecError(where, "version", problem, fix) from None


def _fix() -> str:
    return f"write one of {', '.join(pv.supported_minors(None))}"


def allowed_minors(
    version: str, constraint: str | None, source: str, offered: Iterable[str]
) -> list[str]:
    """The offered minors (``"3.11"``…) a base image may be chosen from, best first.

    The minor of ``version`` itself; then newer offered minors the constraint allows,
    nearest first; and, when the version was not pinned by a version file (it came from a
    constraint or the default), older allowed minors too, nearest first.
    """
    wanted = pv.minor_key(pv.minor_of(version))
    allowed = SpecifierSet(constraint) if constraint else None
    minors = sorted({pv.minor_of(m) for m in offered if _is_minor(m)}, key=pv.minor_key)
    exact = [m for m in minors if pv.minor_key(m) == wanted]
    usable = [m for m in minors if pv.minor_allowed(m, allowed) and m not in exact]
    newer = [m for m in usable if pv.minor_key(m) > wanted]
    older = [m for m in reversed(usable) if pv.minor_key(m) < wanted]
    return exact + newer + ([] if source in PINNED else older)


def _is_minor(text: str) -> bool:
    parts = text.split(".")
    return len(parts) in (2, 3) and all(part.isdigit() for part in parts)
