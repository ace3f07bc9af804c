"""The bare git repositories the server keeps, one per app (``<root>/<app>.git``), and a
commit's files taken out of them to be deployed (issue 13).

Nothing from a push reaches a path or a command line unchecked: the app's name is a DNS
label, a commit is a full hexadecimal object name, a subdirectory is a relative path
without ``..``, and git is run with an argument list (never a shell), ``--`` before
paths, and its hooks and a user's or the system's configuration ignored. A commit's files
come out as ``git archive`` writes them, unpacked by the upload's own safe extractor
(``sources.extract``: no path escaping, no link out, bounded in count and size).
Submodules are refused (their code is not in the repository)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from shipway import sources
from shipway.errors import ShipwayError, excerpt
from shipway.teams import check_label

#: A commit as Shipway names one: SHA-1 or SHA-256, full length.
COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
#: git's mode for a submodule in a tree.
GITLINK = "160000"
#: Seconds a git command may take.
TIMEOUT = 300


def repo_path(root: Path, app: str) -> Path:
    return root / f"{check_label('app', app)}.git"


def ensure(root: Path, app: str, branch: str = "main") -> Path:
    """The app's bare repository, made if missing (HEAD on ``branch``)."""
    path = repo_path(root, app)
    if not (path / "HEAD").is_file():
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        git(root, "init", "--quiet", "--bare", f"--initial-branch={branch}", "--", path.name)
        # Force-pushes are allowed (rolling forward after a rewrite); the server, not git,
        # decides what a push may change.
        git(path, "config", "receive.denyNonFastForwards", "false")
        git(path, "config", "receive.denyDeletes", "true")
        git(path, "config", "http.receivepack", "true")
    return path


def remove(root: Path, app: str) -> None:
    shutil.rmtree(repo_path(root, app), ignore_errors=True)


def export(repo: Path, commit: str, dest: Path, subdir: str = "") -> Path:
    """The files of ``commit`` (of ``subdir`` in it, for a monorepo) unpacked into
    ``dest`` (made here). Submodules are refused."""
    if not COMMIT.fullmatch(commit):
        raise ShipwayError(f"'{excerpt(commit)}' is not a full commit name")
    sub = check_subdir(subdir)
    tree = f"{commit}:{sub}" if sub else commit
    listed = git(repo, "ls-tree", "-r", "-z", "--full-tree", tree, check=False)
    if listed.returncode != 0:
        raise ShipwayError(f"commit {commit[:12]} has no directory '{excerpt(sub)}'")
    for entry in listed.stdout.split(b"\0"):
        if entry.startswith(GITLINK.encode() + b" "):
            name = entry.split(b"\t", 1)[-1].decode("utf-8", "replace")
            raise ShipwayError(
                f"commit {commit[:12]}: '{excerpt(name)}' is a git submodule, which Shipway "
                "does not deploy yet; vendor its files instead"
            )
    with subprocess.Popen(
        ["git", "archive", "--format=tar.gz", tree],
        cwd=repo,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as archiving:
        assert archiving.stdout is not None
        try:
            sources.extract(archiving.stdout, dest)
        except ShipwayError as exc:  # named by the commit, not as an upload's archive
            said = str(exc).removeprefix("source archive: ")
            raise ShipwayError(f"commit {commit[:12]}: {said}") from None
        archiving.stdout.close()
        if archiving.wait(TIMEOUT) != 0:
            raise ShipwayError(f"commit {commit[:12]}: git archive failed")
    _refuse_lfs(commit, dest)
    return dest


def _refuse_lfs(commit: str, tree: Path) -> None:
    """Files kept in Git LFS are pointers in the repository, not the files: refused."""
    for attributes in tree.rglob(".gitattributes"):
        if attributes.is_file() and "filter=lfs" in attributes.read_text("utf-8", "replace"):
            where = attributes.relative_to(tree)
            raise ShipwayError(
                f"commit {commit[:12]}: {excerpt(str(where))} keeps files in Git LFS, which "
                "Shipway does not deploy yet; commit the files themselves"
            )


def resolve(repo: Path, ref: str) -> str | None:
    """The commit ``ref`` names in ``repo``; None if it does not exist."""
    found = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", ref, check=False)
    if found.returncode != 0:
        return None
    return found.stdout.decode().strip() or None


def branches(root: Path, app: str) -> list[str]:
    """The branches of the app's repository (none before its first push)."""
    repo = repo_path(root, app)
    if not repo.is_dir():
        return []
    found = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/", check=False)
    return sorted(filter(None, found.stdout.decode("utf-8", "replace").splitlines()))


def config_env(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` as git reads them from the environment (never on a command line,
    where other users of the machine could read them)."""
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for n, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
    return env


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``cwd`` with only Shipway's settings (no hooks, no user config)."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if check and done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ShipwayError(f"git {args[0]} failed: {excerpt(said[-1] if said else '', 160)}")
    return done


def check_subdir(subdir: str) -> str:
    """``subdir`` as a relative path inside a repository (no ``..``), without slashes
    at its ends; ShipwayError otherwise."""
    sub = subdir.strip("/")
    parts = sub.split("/") if sub else []
    if any(p in ("", ".", "..") or p.startswith("-") for p in parts) or "\0" in sub:
        raise ShipwayError(
            f"app directory '{excerpt(subdir)}': give a relative path inside the repository"
        )
    return sub


def git_env() -> dict[str, str]:
    """The environment every git Shipway runs gets: no user or system configuration."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    return keep | {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "HOME": os.devnull,
    }
