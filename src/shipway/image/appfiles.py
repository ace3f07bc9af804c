"""The app's source files that go into the image, as ``.dockerignore`` (else
``.gitignore``) says, and never anything outside the app directory.

They belong to the app's user: as on Heroku, apps write beside their code (a ``logs/``
directory, a SQLite file, a cache); the container's writable layer keeps such writes
only as long as the pod lives."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath

import pathspec

from shipway.errors import ShipwayError
from shipway.image.layer import Entry, with_parents
from shipway.objects import APP_UID

#: Never shipped: VCS data, local state, caches and virtualenvs.
ALWAYS_IGNORED = [
    ".git/",
    ".hg/",
    ".shipway/",
    "__pycache__/",
    "*.pyc",
    ".venv/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
]


def ignore_spec(app_dir: Path) -> pathspec.GitIgnoreSpec:
    lines = list(ALWAYS_IGNORED)
    for name in (".dockerignore", ".gitignore"):
        file = app_dir / name
        if file.is_file():
            lines += file.read_text(encoding="utf-8", errors="replace").splitlines()
            break
    return pathspec.GitIgnoreSpec.from_lines(lines)


def app_entries(app_dir: Path, prefix: str, owner: int = APP_UID) -> list[Entry]:
    """Layer entries for the app's files under ``prefix`` (e.g. ``app``)."""
    root = app_dir.resolve()
    spec = ignore_spec(root)
    entries = []
    for relative, path in _walk(root, spec):
        name = f"{prefix}/{relative}"
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            entries.append(Entry(name, link=_safe_link(root, path, relative), owner=owner))
        elif stat.S_ISREG(mode):
            executable = bool(mode & 0o111)
            entries.append(Entry(name, source=path, executable=executable, owner=owner))
        elif stat.S_ISDIR(mode):
            entries.append(Entry(name, owner=owner))
    return with_parents([Entry(prefix, owner=owner), *entries])


def copy_app_files(app_dir: Path, dest: Path) -> Path:
    """The files the app layer ships (same ignores, same link checks), copied into
    ``dest``: a place to build from that holds nothing the image would not."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(app_entries(app_dir, "app"), key=lambda e: e.name):
        target = dest / entry.name.removeprefix("app").lstrip("/")
        if entry.link is not None:
            target.symlink_to(entry.link)
        elif entry.source is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            shutil.copy2(entry.source, target)
    return dest


def _walk(root: Path, spec: pathspec.GitIgnoreSpec) -> list[tuple[str, Path]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        kept_dirs = []
        for name in sorted(dirnames):
            relative = f"{rel_dir}/{name}" if rel_dir != "." else name
            if (base / name).is_symlink():
                filenames.append(name)  # a link to a directory is shipped as a link
            elif not spec.match_file(relative + "/"):
                kept_dirs.append(name)
                found.append((relative, base / name))
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            relative = f"{rel_dir}/{name}" if rel_dir != "." else name
            if not spec.match_file(relative):
                found.append((relative, base / name))
    return found


def _safe_link(root: Path, path: Path, relative: str) -> str:
    target = os.readlink(path)
    resolved = (path.parent / target).resolve()
    if os.path.isabs(target) or not resolved.is_relative_to(root):
        raise ShipwayError(
            f"{relative}: the symlink points outside the app directory ({target}); "
            "copy the file into the app, or add it to .dockerignore"
        )
    return PurePosixPath(target).as_posix()
