"""Which of the app's files says what to install, read into ``Requirements`` for uv.

As Heroku's buildpack does, a ``requirements.txt`` comes first; then ``pyproject.toml``
with its lock (``poetry.lock`` for a Poetry project, else ``uv.lock``, else
``poetry.lock``), or its declared dependencies; then ``Pipfile.lock`` over ``Pipfile``.
Locks give pins for the main group only, never dev groups. A ``pyproject.toml`` project
that is a package and has no lock gets its dependencies from its own metadata (its
build backend reads them, whatever the tool), so only a project that is not a package
needs its declared dependencies converted here.

``uv export`` turns ``uv.lock`` into requirements; it runs on a copy of ``pyproject.toml``
and ``uv.lock`` alone, with no configuration, so it reads nothing else, and its output is
kept by the lock's digest, so a rebuild does not run it again.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from shipway.detect.plan import Dependencies
from shipway.errors import ShipwayError, SpecError
from shipway.image import installer, poetry, reqfiles
from shipway.image.appread import read_json, read_text, read_toml, table
from shipway.image.blobs import cache_dir
from shipway.image.reqfiles import Line, Requirements, normalise
from shipway.image.target import Target

EXPORT = [
    "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-hashes",
    "--no-config", "--quiet", "--format", "requirements-txt",
]  # fmt: skip


def select(
    root: Path, deps: Dependencies, target: Target, package: bool, context: Path | None = None
) -> Requirements:
    """The requirements of the app at ``root`` (resolved); ``package``: it is installed as
    a package, so without a lock its own metadata lists its dependencies; ``context``:
    the repository holding the app, whose files requirement files may include."""
    if deps.kind == "requirements":
        return reqfiles.read(root, "requirements.txt", context)
    if deps.kind == "pipfile":
        return _pipfile_lock(root) if (root / "Pipfile.lock").is_file() else _pipfile(root)
    if deps.kind == "pyproject":
        return _pyproject(root, target, package)
    return Requirements(deps.file or "setup.py", files=[])  # setup.py: its metadata says


def declared(root: Path, target: Target) -> Requirements:
    """What ``pyproject.toml`` declares, for a project that is not a package."""
    data = read_toml(root, "pyproject.toml")
    project = table(data, "project")
    listed = project.get("dependencies")
    if isinstance(listed, list) and "dependencies" not in project.get("dynamic", []):
        result = reqfiles.parse(root, "\n".join(map(str, listed)), "pyproject.toml")
        result.files = ["pyproject.toml", *result.files]
        return result
    if table(data, "tool", "poetry"):
        return poetry.declared(root, target)
    return Requirements("pyproject.toml", files=["pyproject.toml"])


def _pyproject(root: Path, target: Target, package: bool) -> Requirements:
    is_poetry = bool(table(read_toml(root, "pyproject.toml"), "tool", "poetry"))
    if is_poetry and (root / "poetry.lock").is_file():
        return poetry.locked(root, target)
    if (root / "uv.lock").is_file():
        return _uv_lock(root)
    if (root / "poetry.lock").is_file():
        return poetry.locked(root, target)
    if package:
        return Requirements("pyproject.toml", files=["pyproject.toml"])
    return declared(root, target)


def _uv_lock(root: Path) -> Requirements:
    files = {name: read_text(root, name) for name in ("pyproject.toml", "uv.lock")}
    digest = hashlib.sha256(installer.uv_version().encode())
    for name, text in files.items():
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    memo = cache_dir() / "uv-exports" / f"{digest.hexdigest()[:32]}.txt"
    if not memo.is_file():
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(_export(files))
    result = reqfiles.parse(root, memo.read_text(), "uv.lock")
    result.files = ["pyproject.toml", "uv.lock", *result.files]
    result.complete = True
    return result


def _export(files: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory(prefix="shipway-export-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        done = installer.run([installer.uv(), *EXPORT], Path(tmp))
    if done.returncode != 0:
        raise ShipwayError(f"uv.lock: uv could not read it: {installer.last_line(done.stderr)}")
    return done.stdout


def _pipfile_lock(root: Path) -> Requirements:
    """``Pipfile.lock``'s ``default`` section (never ``develop``), pinned with markers."""
    default = read_json(root, "Pipfile.lock")
    result = Requirements("Pipfile.lock", files=["Pipfile.lock"], complete=True)
    for name, entry in sorted(table(default, "default").items()):
        if not isinstance(entry, dict):
            continue
        result.origins[normalise(name)] = "Pipfile.lock"
        _pipenv_entry(result, root, name, entry, pinned=True)
    return result


def _pipfile(root: Path) -> Requirements:
    packages = table(read_toml(root, "Pipfile"), "packages")
    result = Requirements("Pipfile", files=["Pipfile"])
    for name, spec in sorted(packages.items()):
        entry = {"version": spec} if isinstance(spec, str) else spec
        if isinstance(entry, dict):
            result.origins[normalise(name)] = "Pipfile"
            _pipenv_entry(result, root, name, entry, pinned=False)
    return result


def _pipenv_entry(
    result: Requirements, root: Path, name: str, entry: dict[str, Any], pinned: bool
) -> None:
    extras = entry.get("extras") or []
    head = f"{name}[{','.join(map(str, extras))}]" if extras else name
    marker = f" ; {entry['markers']}" if isinstance(entry.get("markers"), str) else ""
    if "path" in entry or ("file" in entry and not str(entry["file"]).startswith("http")):
        path = str(entry.get("path") or entry.get("file"))
        local = reqfiles.parse(root, f"-e {path}" if entry.get("editable") else path, name)
        result.projects += [p for p in local.projects if p not in result.projects]
        result.files += local.files
        result.lines += local.lines
    elif "git" in entry:
        ref = entry.get("ref")
        result.lines.append(Line(f"{head} @ git+{entry['git']}{'@' + ref if ref else ''}{marker}"))
    elif "file" in entry:
        result.lines.append(Line(f"{head} @ {entry['file']}{marker}"))
    else:
        version = str(entry.get("version", "*"))
        if version in ("*", "") and pinned:
            raise SpecError("Pipfile.lock", f"default.{name}", "has no version",
                            "run `pipenv lock` again")  # fmt: skip
        result.lines.append(Line(f"{head}{'' if version in ('*', '') else version}{marker}"))
