"""The server's bare repositories with the real git: made once per app, a pushed commit's
files exported (all of them, or a monorepo's subdirectory), and what must not come out:
a submodule, a link out of the tree, a name or commit that is not one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shipway import gitrepos
from shipway.errors import ShipwayError

IDENTITY = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]


def run(cwd: Path, *args: str) -> str:
    command = ["git", *IDENTITY, *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def pushed(tmp_path: Path, files: dict[str, str], setup: str = "") -> tuple[Path, str]:
    """A bare app repository with one commit of ``files`` pushed to main."""
    work = tmp_path / "work"
    work.mkdir()
    run(work, "init", "-q", "-b", "main")
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    run(work, "add", "-A")
    if setup:  # after the add, which would drop an index entry missing from the tree
        subprocess.run(setup, shell=True, cwd=work, check=True)
        run(work, "add", "--all", "--", ":!vendor")
    run(work, "commit", "-qm", "first")
    repo = gitrepos.ensure(tmp_path / "git", "tasks")
    run(work, "push", "-q", str(repo), "main")
    return repo, run(work, "rev-parse", "HEAD")


def test_a_pushed_commit_is_exported_whole_or_by_subdirectory(tmp_path: Path) -> None:
    files = {"app.py": "print('hi')\n", "services/api/app.py": "api\n", "README": "r\n"}
    repo, commit = pushed(tmp_path, files)
    assert repo == tmp_path / "git" / "tasks.git"
    assert gitrepos.ensure(tmp_path / "git", "tasks") == repo  # made once
    whole = gitrepos.export(repo, commit, tmp_path / "whole")
    assert sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file()) == [
        "README",
        "app.py",
        "services/api/app.py",
    ]
    sub = gitrepos.export(repo, commit, tmp_path / "sub", "services/api/")
    assert [p.name for p in sub.iterdir()] == ["app.py"] and (sub / "app.py").read_text() == "api\n"
    with pytest.raises(ShipwayError, match="has no directory 'nope'"):
        gitrepos.export(repo, commit, tmp_path / "none", "nope")


@pytest.mark.parametrize("subdir", ["../etc", "a/../../b", "-x", "a//b"])
def test_a_subdirectory_stays_inside_the_repository(tmp_path: Path, subdir: str) -> None:
    repo, commit = pushed(tmp_path, {"a/b": "x"})
    with pytest.raises(ShipwayError, match="relative path inside the repository"):
        gitrepos.export(repo, commit, tmp_path / "out", subdir)


def test_names_and_commits_are_checked_before_git_runs(tmp_path: Path) -> None:
    for name in ["../x", "Tasks", "a" * 64, "-rf", ""]:
        with pytest.raises(ShipwayError, match="not a valid name"):
            gitrepos.ensure(tmp_path, name)
    repo, _ = pushed(tmp_path, {"a": "x"})
    for commit in ["HEAD", "main", "--output=/tmp/x", "0" * 39]:
        with pytest.raises(ShipwayError, match="not a full commit name"):
            gitrepos.export(repo, commit, tmp_path / "out")


def test_a_submodule_is_refused_by_name(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    run(inner, "init", "-q", "-b", "main")
    run(inner, "commit", "-q", "--allow-empty", "-m", "inner")
    sha = run(inner, "rev-parse", "HEAD")
    setup = f"git update-index --add --cacheinfo 160000,{sha},vendor/lib"
    repo, commit = pushed(tmp_path, {"app.py": "x"}, setup)
    with pytest.raises(ShipwayError, match="'vendor/lib' is a git submodule"):
        gitrepos.export(repo, commit, tmp_path / "out")


def test_a_link_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    repo, commit = pushed(tmp_path, {"app.py": "x"}, "ln -s ../../../etc/passwd leak")
    with pytest.raises(ShipwayError, match="points outside"):
        gitrepos.export(repo, commit, tmp_path / "out")
    assert not os.path.lexists(tmp_path / "out" / "leak")
