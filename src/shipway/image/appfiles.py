"""The app's source files that go into the image, as ``.dockerignore`` (Docker's rules,
see ``dockerignore``) else ``.gitignore`` (git's) says, and never anything outside the app
directory.

They belong to the app's user: as on Heroku, apps write beside their code (a ``logs/``
directory, a SQLite file, a cache); the container's writable layer keeps such writes
only as long as the pod lives.

Symbolic links are shipped as links, as ``docker build`` does, never followed: one to a
directory is not walked, one to nothing (dangling) or to itself (a loop) is kept as it
is. A link whose target lies outside the app is refused: the image would point at
whatever the base image has there.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipway.detect import files
from shipway.errors import ShipwayError
from shipway.image import dockerignore, gitignore
from shipway.image.layer import Entry, with_parents
from shipway.objects import APP_UID

#: Never shipped, whatever the ignore files say: VCS data, local state, caches and
#: virtualenvs (git's rules: anywhere in the tree).
ALWAYS_IGNORED = gitignore.parse(
    [
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
)
GITIGNORE = ".gitignore"


@dataclass(frozen=True)
class Ignores:
    """The app's own ignore rules: ``.dockerignore``'s, else ``.gitignore``'s, else none.

    A check returns, besides the verdict, what the checks of a directory's contents get
    as ``parent``: which ``.dockerignore`` patterns matched the directory."""

    docker: dockerignore.DockerIgnore | None = None
    git: gitignore.GitIgnore | None = None

    def check(
        self, rel: str, is_dir: bool, parent: tuple[bool, ...]
    ) -> tuple[bool, tuple[bool, ...]]:
        """Whether ``rel`` is excluded, and the state its children are checked with."""
        if ALWAYS_IGNORED.excluded(rel, is_dir):
            return True, ()
        if self.docker is not None:
            return self.docker.match(rel, parent)
        return self.git is not None and self.git.excluded(rel, is_dir), ()

    def walks_into(self, rel: str) -> bool:
        """Whether an excluded directory is walked all the same (a ``!`` line may
        re-include something in it; never under git's rules, nor for ALWAYS_IGNORED)."""
        always = ALWAYS_IGNORED.excluded(rel, is_dir=True)
        return not always and self.docker is not None and self.docker.walks_into(rel)


def ignores(app_dir: Path) -> Ignores:
    """The rules of the app at ``app_dir`` (resolved); read as any app file is: inside
    the app after resolving links, and bounded in size."""
    text = files.text(app_dir, dockerignore.FILE)
    if text is not None:
        return Ignores(docker=dockerignore.parse(text))
    text = files.text(app_dir, GITIGNORE)
    if text is not None:
        return Ignores(git=gitignore.parse(text.split("\n")))
    return Ignores()


def app_entries(app_dir: Path, prefix: str, owner: int = APP_UID) -> list[Entry]:
    """Layer entries for the app's files under ``prefix`` (e.g. ``app``)."""
    root = app_dir.resolve()
    entries = []
    for relative, path in _walk(root, ignores(root)):
        name = f"{prefix}/{relative}"
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            entries.append(Entry(name, link=_safe_link(root, path, relative), owner=owner))
        elif stat.S_ISREG(mode):
            executable = bool(mode & 0o111)
            entries.append(Entry(name, source=path, executable=executable, owner=owner))
        elif stat.S_ISDIR(mode):
            entries.append(Entry(name, owner=owner))
    # A directory excluded but walked for what a "!" line re-includes comes in as a
    # parent, owned by the app's user as COPY --chown makes it.
    return with_parents([Entry(prefix, owner=owner), *entries], owner)


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


def _walk(root: Path, rules: Ignores) -> list[tuple[str, Path]]:
    """(app-relative path, path) of what is shipped, directories before their contents.
    A stack rather than recursion: a tree thousands of directories deep is no error."""
    found: list[tuple[str, Path]] = []
    pending: list[tuple[str, Path, tuple[bool, ...]]] = [("", root, ())]
    while pending:
        rel_dir, base, state = pending.pop()
        for entry in _listing(base, rel_dir):
            relative = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)  # a link is shipped as a link
            excluded, child_state = rules.check(relative, is_dir, state)
            if not excluded:
                found.append((relative, Path(entry.path)))
            if is_dir and (not excluded or rules.walks_into(relative)):
                pending.append((relative, Path(entry.path), child_state))
    return found


def _listing(base: Path, rel_dir: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(base) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:  # docker build stops there too
        raise ShipwayError(
            f"{rel_dir or '.'}: the directory cannot be read ({exc.strerror}); "
            "fix its permissions, or add it to .dockerignore"
        ) from None


def _safe_link(root: Path, path: Path, relative: str) -> str:
    target = os.readlink(path)
    if os.path.isabs(target) or not _lands_inside(root, path.parent / target):
        raise ShipwayError(
            f"{relative}: the symlink points outside the app directory ({target}); "
            "copy the file into the app, or add it to .dockerignore"
        )
    return PurePosixPath(target).as_posix()


def _lands_inside(root: Path, target: Path) -> bool:
    """Whether a link's target is in the app: where it resolves, or, for a link in a
    loop (which resolves nowhere), where its text points."""
    try:
        real = target.resolve()
    except (OSError, RuntimeError):  # a loop; Python 3.13 raises OSError, 3.11 RuntimeError
        real = Path(os.path.normpath(target))
    return real.is_relative_to(root)
