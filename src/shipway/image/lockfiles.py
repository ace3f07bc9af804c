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

Where a lock says a package comes from is honoured, never replaced by a package of the
same name from the default index (dependency confusion): the indexes a lock records
(``uv.lock``'s registries, ``Pipfile.lock``'s sources, ``poetry.lock``'s legacy sources)
become index lines, looked up first, and the lock's hashes pin each file, so a package
from anywhere else fails to install. Every line goes through ``reqfiles``' checks. A
project file that sets where a dependency comes from in a way only a lock records
(``[tool.uv.sources]``, ``[[tool.uv.index]]``, Poetry's ``source``) needs that lock.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from shipway.detect.plan import Dependencies
from shipway.errors import ShipwayError, SpecError
from shipway.image import appproject, installer, poetry, reqfiles
from shipway.image.appread import read_json, read_text, read_toml, table
from shipway.image.blobs import cache_dir
from shipway.image.reqfiles import Requirements, normalise
from shipway.image.target import Target

EXPORT = [
    "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-config",
    "--quiet", "--format", "requirements-txt",
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
    appproject.check_sources(root, ".", listed=set(), indexes=False)
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
    digest = hashlib.sha256(json.dumps([installer.uv_version(), EXPORT]).encode())
    for name, text in files.items():
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    memo = cache_dir() / "uv-exports" / f"{digest.hexdigest()[:32]}.txt"
    if not memo.is_file():
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(_export(files))
    result = reqfiles.parse(root, memo.read_text(), "uv.lock")
    result.files = ["pyproject.toml", "uv.lock", *result.files]
    result.complete = True
    for url in _registries(root):  # uv export leaves them out: the lock knows each one's
        reqfiles.add(result, root, f"--extra-index-url {url}", "uv.lock")
    return result


def _registries(root: Path) -> list[str]:
    """The indexes ``uv.lock``'s packages come from, other than PyPI, in order."""
    found: dict[str, None] = {}
    for package in read_toml(root, "uv.lock").get("package", []):
        registry = table(package, "source").get("registry")
        if isinstance(registry, str) and not reqfiles.is_default_index(registry):
            found[registry] = None
    return list(found)


def _export(files: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory(prefix="shipway-export-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        done = installer.run([installer.uv(), *EXPORT], Path(tmp))
    if done.returncode != 0:
        raise ShipwayError(f"uv.lock: uv could not read it: {installer.last_line(done.stderr)}")
    return done.stdout


def _pipfile_lock(root: Path) -> Requirements:
    """``Pipfile.lock``'s ``default`` section (never ``develop``), pinned with markers and
    hashes, from the sources it names."""
    lock = read_json(root, "Pipfile.lock")
    entries = {name: e for name, e in sorted(table(lock, "default").items()) if isinstance(e, dict)}
    result = Requirements("Pipfile.lock", files=["Pipfile.lock"], complete=True)
    _pipenv_sources(result, root, table(lock, "_meta").get("sources"), entries, "Pipfile.lock")
    for name, entry in entries.items():
        result.origins[normalise(name)] = "Pipfile.lock"
        _pipenv_entry(result, root, name, entry, ("Pipfile.lock", "default"), pinned=True)
    return result


def _pipfile(root: Path) -> Requirements:
    data = read_toml(root, "Pipfile")
    entries = {name: {"version": spec} if isinstance(spec, str) else spec
               for name, spec in sorted(table(data, "packages").items())}  # fmt: skip
    entries = {name: entry for name, entry in entries.items() if isinstance(entry, dict)}
    result = Requirements("Pipfile", files=["Pipfile"])
    _pipenv_sources(result, root, data.get("source"), entries, "Pipfile")
    for name, entry in entries.items():
        result.origins[normalise(name)] = "Pipfile"
        _pipenv_entry(result, root, name, entry, ("Pipfile", "packages"), pinned=False)
    return result


def _pipenv_sources(
    result: Requirements, root: Path, sources: Any, entries: dict[str, Any], file: str
) -> None:
    """Pipenv's sources as uv's indexes: the first is the index (pipenv installs a
    package without ``index`` from it alone), one a package names is an extra index,
    which uv looks in first."""
    listed = [s for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []
    by_name = {str(source.get("name")): source for source in listed}
    for name, entry in entries.items():
        index = entry.get("index")
        if index is not None and str(index) not in by_name:
            raise SpecError(file, f"{name}.index", f"names no source of the {file}",
                            "add a [[source]] of that name, or drop the index")  # fmt: skip
    used = {str(entry.get("index")) for entry in entries.values()}
    first_is_default = bool(listed) and reqfiles.is_default_index(str(listed[0].get("url")))
    for number, source in enumerate(listed):
        if number == 0 or str(source.get("name")) in used:
            if reqfiles.is_default_index(str(source.get("url"))) and first_is_default:
                continue  # the builder's default index, where uv looks anyway
            option = "--index-url" if number == 0 else "--extra-index-url"
            where = f"{file}: source {source.get('name')}"
            reqfiles.add(result, root, f"{option} {source.get('url')}", where)


def _pipenv_entry(
    result: Requirements,
    root: Path,
    name: str,
    entry: dict[str, Any],
    place: tuple[str, str],
    pinned: bool,
) -> None:
    """One package of a Pipfile (``place``: the file and section) as a checked line."""
    extras = entry.get("extras") or []
    head = f"{name}[{','.join(map(str, extras))}]" if extras else name
    marker = f" ; {entry['markers']}" if isinstance(entry.get("markers"), str) else ""
    where = f"{place[0]}: {place[1]}.{name}"
    if "path" in entry or ("file" in entry and not str(entry["file"]).startswith("http")):
        path = str(entry.get("path") or entry.get("file"))
        line = reqfiles.local_line(path)
        reqfiles.add(result, root, f"-e {line}" if entry.get("editable") else line, where)
    elif "git" in entry:
        ref = entry.get("ref")
        line = f"{head} @ git+{entry['git']}{'@' + str(ref) if ref else ''}{marker}"
        reqfiles.add(result, root, line, where)
    elif "file" in entry:
        reqfiles.add(result, root, f"{head} @ {entry['file']}{marker}", where)
    else:
        version = str(entry.get("version", "*"))
        if version in ("*", "") and pinned:
            raise SpecError(place[0], f"{place[1]}.{name}", "has no version",
                            "run `pipenv lock` again")  # fmt: skip
        pin = f"{head}{'' if version in ('*', '') else version}{marker}"
        reqfiles.add(result, root, pin + reqfiles.hash_options(entry.get("hashes"), where), where)
