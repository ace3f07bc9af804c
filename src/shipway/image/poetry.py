"""Poetry projects' dependencies as requirements uv installs: from ``poetry.lock``, else
from ``[tool.poetry.dependencies]``.

uv cannot read ``poetry.lock``. The lock lists every package any group might need, and
which of them the app's main group needs depends on the lock's format: Poetry 2 records
``groups`` and per-group ``markers``, Poetry 1.5 to 1.8 records neither, older ones a
``category``. The one way that works for all of them is Poetry's own: walk the graph from
the main dependencies in ``pyproject.toml`` through each locked package's dependencies
and extras, keeping the edges whose markers and ``python`` constraints hold for the
image's Python and platform, and pin what is reached (``name==version``). Dev groups are
never reached. Without a lock, the constraints themselves become PEP 508 requirements
(``^1.2`` is ``>=1.2,<2.0``; a ``||`` union has no PEP 508 form and needs the lock).

A locked package keeps where it came from: a legacy (simple) index becomes an index line
uv looks in first, its files' hashes pin it, and a source of a kind Shipway does not
install is refused rather than replaced by a package of the same name from the default
index. Every line goes through ``reqfiles``' checks (paths inside the app, remote URLs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from shipway.detect import poetry as poetry_syntax
from shipway.detect.pyversion import minor_allowed
from shipway.errors import SpecError
from shipway.image import reqfiles
from shipway.image.appread import read_toml, table
from shipway.image.reqfiles import Requirements, normalise
from shipway.image.target import Target

BARE_VERSION = re.compile(r"^\d+(\.\d+)*$")
LOCK_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def constraint(text: str) -> list[SpecifierSet]:
    """Poetry's constraint as alternatives (any may hold); ``ValueError`` if it is not one."""
    return [_alternative(alt.strip()) for alt in re.split(r"\|\|?", text.strip() or "*")]


def _alternative(text: str) -> SpecifierSet:
    if BARE_VERSION.match(text):  # exact: Poetry reads a package's "1.2" as ==1.2
        return SpecifierSet(f"=={text}")
    return SpecifierSet(poetry_syntax.to_pep440(text))  # carets, tildes, wildcards


def specs(value: Any) -> list[dict[str, Any]]:
    """A dependency's value (a constraint, a table, or a list of tables) as tables."""
    values = value if isinstance(value, list) else [value]
    return [{"version": v} if isinstance(v, str) else dict(v) for v in values
            if isinstance(v, str | dict)]  # fmt: skip


@dataclass(frozen=True)
class Dependency:
    """One main dependency of ``pyproject.toml`` (one alternative of a multiple one)."""

    name: str
    spec: dict[str, Any]

    @property
    def extras(self) -> list[str]:
        return [normalise(str(e)) for e in self.spec.get("extras", [])]

    def applies(self, target: Target) -> bool:
        if self.spec.get("optional"):
            return False  # only an extra of the app installs it, and none is asked for
        python = self.spec.get("python")
        if isinstance(python, str) and not _python_allows(python, target):
            return False
        return target.allows(self.spec.get("markers"))


def main_dependencies(pyproject: dict[str, Any]) -> list[Dependency]:
    """``[project].dependencies`` (Poetry 2) or ``[tool.poetry.dependencies]``."""
    listed = table(pyproject, "project").get("dependencies")
    if isinstance(listed, list):
        return [_pep508_dependency(str(item)) for item in listed]
    found = []
    for name, value in table(pyproject, "tool", "poetry", "dependencies").items():
        if normalise(name) == "python":
            continue
        found += [Dependency(normalise(name), spec) for spec in specs(value)]
    return found


def declared(root: Path, target: Target) -> Requirements:
    """Requirements from the constraints in ``pyproject.toml``, for a project with no lock."""
    result = Requirements("pyproject.toml", files=["pyproject.toml"])
    for dep in main_dependencies(read_toml(root, "pyproject.toml")):
        if dep.applies(target):
            _add_declared(result, dep, root)
    return result


def locked(root: Path, target: Target) -> Requirements:
    """The pins of ``poetry.lock`` the main group needs on the target."""
    lock = read_toml(root, "poetry.lock")
    packages: dict[str, list[dict[str, Any]]] = {}
    for entry in lock.get("package", []):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            packages.setdefault(normalise(entry["name"]), []).append(entry)
    walk = _Walk(target, packages)
    for dep in main_dependencies(read_toml(root, "pyproject.toml")):
        if dep.applies(target):
            walk.visit(dep)
    result = Requirements("poetry.lock", files=["pyproject.toml", "poetry.lock"], complete=True)
    old_files = table(lock, "metadata", "files")  # Poetry < 1.5 lists files there
    for name in sorted(walk.chosen):
        entry = walk.chosen[name][0]
        files = entry.get("files", old_files.get(str(entry.get("name"))))
        _add_locked(result, name, entry, files, root)
    return result


def _add_declared(result: Requirements, dep: Dependency, root: Path) -> None:
    where = f"tool.poetry.dependencies.{dep.name}"
    label = f"pyproject.toml: {where}"
    spec = dep.spec
    extras = f"[{','.join(dep.extras)}]" if dep.extras else ""
    marker = f" ; {spec['markers']}" if isinstance(spec.get("markers"), str) else ""
    if "path" in spec:
        reqfiles.add(result, root, reqfiles.local_line(spec["path"]), label)
    elif "git" in spec:
        ref = spec.get("rev") or spec.get("tag") or spec.get("branch")
        line = f"{dep.name}{extras} @ {_git(spec['git'], ref, spec)}{marker}"
        reqfiles.add(result, root, line, label)
    elif "url" in spec:
        reqfiles.add(result, root, f"{dep.name}{extras} @ {spec['url']}{marker}", label)
    else:
        line = f"{dep.name}{extras}{_specifier(spec, where)}{marker}"
        reqfiles.add(result, root, line, label)
    result.origins[dep.name] = "pyproject.toml"


#: ``poetry.lock`` source types Shipway installs (a package with no source is PyPI's).
LOCK_SOURCES = (None, "legacy", "directory", "file", "git", "url")


def _add_locked(
    result: Requirements, name: str, entry: dict[str, Any], files: Any, root: Path
) -> None:
    source = table(entry, "source")
    kind, url = source.get("type"), str(source.get("url", ""))
    label = f"poetry.lock: package.{name}"
    if kind not in LOCK_SOURCES:
        raise SpecError(
            "poetry.lock", f"package.{name}.source.type",
            f"'{str(kind)[:40]}' is not a source Shipway installs",
            "use a legacy (simple) index, git, url, file or directory source",
        )  # fmt: skip
    if kind in ("directory", "file"):
        reqfiles.add(result, root, reqfiles.local_line(url), label)
    elif kind == "git":
        git = _git(url, source.get("resolved_reference"), source)
        reqfiles.add(result, root, f"{name} @ {git}", label)
    elif kind == "url":
        reqfiles.add(result, root, f"{name} @ {url}", label)
    else:
        if kind == "legacy":
            reqfiles.add(result, root, f"--extra-index-url {url}", label)
        listed = files if isinstance(files, list) else []
        digests = [f.get("hash") for f in listed if isinstance(f, dict)]
        pin = f"{name}=={entry.get('version')}{reqfiles.hash_options(digests, label)}"
        reqfiles.add(result, root, pin, label)
    result.origins[name] = "poetry.lock"


def _git(url: str, ref: Any, spec: dict[str, Any]) -> str:
    sub = f"#subdirectory={spec['subdirectory']}" if spec.get("subdirectory") else ""
    return f"git+{url}{'@' + str(ref) if ref else ''}{sub}"


def _specifier(spec: dict[str, Any], where: str) -> str:
    text = str(spec.get("version", "*"))
    try:
        alternatives = constraint(text)
    except (ValueError, InvalidSpecifier) as exc:
        raise SpecError("pyproject.toml", where, f"'{text[:60]}' is not a constraint ({exc})",
                        "write e.g. '^1.2'") from None  # fmt: skip
    if len(alternatives) > 1:
        raise SpecError("pyproject.toml", where, f"'{text[:60]}' is a union",
                        "run `poetry lock` (a union needs poetry.lock)")  # fmt: skip
    return str(alternatives[0])


def _python_allows(text: str, target: Target) -> bool:
    try:
        return any(minor_allowed(target.python_version, s) for s in constraint(text))
    except (ValueError, InvalidSpecifier):
        return True  # the lock was made by Poetry, which read it; do not guess


def _pep508_dependency(text: str) -> Dependency:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        raise SpecError("pyproject.toml", "project.dependencies", f"'{text[:60]}' is invalid",
                        "write a PEP 508 requirement") from None  # fmt: skip
    spec: dict[str, Any] = {"version": str(req.specifier) or "*", "extras": sorted(req.extras)}
    if req.marker is not None:
        spec["markers"] = str(req.marker)
    if req.url:
        spec["url"] = req.url
    return Dependency(normalise(req.name), spec)


@dataclass
class _Walk:
    """The lock's packages reached from the main dependencies, with the extras asked of each."""

    target: Target
    packages: dict[str, list[dict[str, Any]]]
    chosen: dict[str, tuple[dict[str, Any], set[str]]] = field(default_factory=dict)

    def visit(self, dep: Dependency) -> None:
        entry = self._entry(dep)
        previous = self.chosen.get(dep.name)
        extras = set(dep.extras) | (previous[1] if previous else set())
        if previous is not None and previous[1] >= extras:
            return
        self.chosen[dep.name] = (entry, extras)
        for child in self._children(entry, extras):
            self.visit(child)

    def _entry(self, dep: Dependency) -> dict[str, Any]:
        candidates = self.packages.get(dep.name, [])
        spec = str(dep.spec.get("version", "*"))
        try:
            allowed = constraint(spec) if "url" not in dep.spec else [SpecifierSet()]
        except (ValueError, InvalidSpecifier):
            allowed = [SpecifierSet()]
        fitting = [c for c in candidates if _version_in(c, allowed)] or candidates
        fitting = [c for c in fitting if self.target.allows(_main_marker(c))] or fitting
        if not fitting:
            raise SpecError("poetry.lock", None, f"has no {dep.name}, which pyproject.toml needs",
                            "run `poetry lock` again")  # fmt: skip
        return max(fitting, key=lambda c: _version(c) or Version("0"))

    def _children(self, entry: dict[str, Any], extras: set[str]) -> list[Dependency]:
        wanted = {
            normalise(m.group(1))
            for extra, items in table(entry, "extras").items()
            if normalise(extra) in extras
            for item in items
            if (m := LOCK_ENTRY.match(str(item)))
        }
        children = []
        for name, value in table(entry, "dependencies").items():
            for spec in specs(value):
                if spec.get("optional") and normalise(name) not in wanted:
                    continue
                spec.pop("optional", None)
                dep = Dependency(normalise(name), spec)
                if dep.applies(self.target):
                    children.append(dep)
        return children


def _version(entry: dict[str, Any]) -> Version | None:
    try:
        return Version(str(entry.get("version")))
    except InvalidVersion:
        return None


def _version_in(entry: dict[str, Any], allowed: list[SpecifierSet]) -> bool:
    version = _version(entry)
    return version is None or any(s.contains(version, prereleases=True) for s in allowed)


def _main_marker(entry: dict[str, Any]) -> str | None:
    """Poetry 2 writes ``markers`` per group (a table) or for all groups (a string)."""
    markers = entry.get("markers")
    if isinstance(markers, dict):
        markers = markers.get("main")
    return markers if isinstance(markers, str) else None
