""".dockerignore follows Docker's rules (BuildKit: moby's reader and patternmatcher, as
fsutil walks with them), .gitignore git's; the walk ships links as links, never follows
one out of the app, and a loop, a dangling link or a hostile pattern never crashes it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from shipway.errors import ShipwayError, SpecError
from shipway.image import dockerignore
from shipway.image.appfiles import app_entries
from shipway.image.layer import Entry
from tests.helpers.appdir import make_app

pytestmark = pytest.mark.unit

TREE = (
    "app.py", "foo", "a/foo", "a/b/foo", "x.tmp", "sub/x.tmp", "sub/deep/y.tmp",
    "secret.txt", "docs/secret.txt", "logs/a.log", "logs/keep.log", "build/out/z.bin",
    "build/keep/me.txt", "ab", "a/x/y/b", "c1d", "c/d", "cxz", "lit*", "litx", "#hash",
    "d/f", "top.md", "nested/top.md", "tmp/secret", "tmp/other",
)  # fmt: skip


def shipped(app: Path) -> set[str]:
    """The app's shipped files and links."""
    entries = app_entries(app, "app")
    return {e.name.removeprefix("app/") for e in entries if e.source or e.link is not None}


def app_with(tmp_path: Path, ignore: str, name: str = ".dockerignore") -> Path:
    return make_app(tmp_path, {**dict.fromkeys(TREE, ""), name: ignore})


def kept(tmp_path: Path, ignore: str) -> set[str]:
    return shipped(app_with(tmp_path, ignore)) - {".dockerignore"}


ALL = set(TREE)


@pytest.mark.parametrize(
    ("ignore", "excluded"),
    [
        # Anchored at the root: no gitignore-style match of a name anywhere.
        ("foo\n", {"foo"}),
        ("**/foo\n", {"foo", "a/foo", "a/b/foo"}),
        ("*.tmp\n", {"x.tmp"}),
        ("**/*.tmp\n", {"x.tmp", "sub/x.tmp", "sub/deep/y.tmp"}),
        # ./x and /x are x; trailing slashes and a/../ are cleaned away.
        ("./secret.txt\n", {"secret.txt"}),
        ("/secret.txt\n", {"secret.txt"}),
        ("docs/../secret.txt\n", {"secret.txt"}),
        ("logs/\n", {"logs/a.log", "logs/keep.log"}),
        ("//logs\n", {"logs/a.log", "logs/keep.log"}),
        # Comments only in the first column; white space around a pattern is trimmed.
        ("# foo\n", set()),
        ("  #hash  \n", {"#hash"}),
        ("\t foo \t\r\n", {"foo"}),
        ("\ufefffoo\n", {"foo"}),
        # The last matching line wins; an exception re-includes inside an excluded dir.
        ("logs\n!logs/keep.log\n", {"logs/a.log"}),
        ("logs/*\n! logs/keep.log\n", {"logs/a.log"}),
        ("!logs/keep.log\nlogs\n", {"logs/a.log", "logs/keep.log"}),
        ("build\n!build/keep\n", {"build/out/z.bin"}),
        ("*.md\n!**/top.md\n**/top.md\n", {"top.md", "nested/top.md"}),
        # A wildcard exception makes the walk enter every excluded directory.
        ("build\n!**/me.txt\n", {"build/out/z.bin"}),
        # ** matches no element too, ? one character, [..] a class, \ escapes.
        ("a/**/b\n", {"a/x/y/b", "a/b/foo"}),
        ("ab\na/**/b\n", {"ab", "a/x/y/b", "a/b/foo"}),
        ("c?d\n", {"c1d"}),
        ("c[xy]z\n", {"cxz"}),
        ("lit\\*\n", {"lit*"}),
        # Docker's own shortcuts: "x**" is a prefix, "**x" a suffix of the whole path.
        ("tmp**\n", {"tmp/secret", "tmp/other"}),
        ("**/deep/**\n", {"sub/deep/y.tmp"}),  # a trailing ** after a wildcard: any rest
        ("s*/**\n", {"sub/x.tmp", "sub/deep/y.tmp"}),
        ("**secret\n", {"tmp/secret"}),
        ("**secret.txt\n", {"secret.txt", "docs/secret.txt"}),
        # A directory's matches carry to what it holds, as patternmatcher computes them
        # from the parent's results: "!d" was never tried on d, so d/f stays excluded.
        ("d/*\n!d\n", {"d/f"}),
        # Nothing at all, and everything.
        ("\n\n", set()),
        ("*\n", ALL),
    ],
)
def test_patterns_follow_dockers_rules(tmp_path: Path, ignore: str, excluded: set[str]) -> None:
    assert kept(tmp_path, ignore) == ALL - excluded


def test_gitignore_keeps_gits_rules_when_there_is_no_dockerignore(tmp_path: Path) -> None:
    app = app_with(tmp_path, "foo\n!a/b/foo\n", name=".gitignore")
    assert shipped(app) - {".gitignore"} == ALL - {"foo", "a/foo"}
    (app / ".dockerignore").write_text("foo\n")  # then git's file is not read at all
    assert shipped(app) - {".gitignore", ".dockerignore"} == ALL - {"foo"}


@pytest.mark.parametrize(
    "ignore",
    [
        "foo\n!a/b/foo\n",
        "*.tmp\n!sub/x.tmp\n",
        "/logs\nbuild/\nkeep/\n",
        "a/**/b\n**/secret.txt\n",
        "docs/*\n!docs/secret.txt\nlogs/**\n!logs/keep.log\n",
        "c?d\nc[xy]z\n[!l]it*\n",
        "\\#hash\nlit\\*\n   \ntmp/**\ntop.md   \n",
        "# comment\nd\n!d/f\n*/top.md\n",
        "a**b\n**\n!*.md\n",
    ],
)
def test_gitignore_ignores_what_git_ignores(tmp_path: Path, ignore: str) -> None:
    app = app_with(tmp_path, ignore, name=".gitignore")
    subprocess.run(["git", "init", "-q", str(app)], check=True)
    untracked = subprocess.run(
        ["git", "-C", str(app), "ls-files", "--others", "--exclude-standard"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert shipped(app) == {name.strip('"').replace("\\#", "#") for name in untracked}


def test_a_gitignore_line_built_to_backtrack_runs_in_linear_time(tmp_path: Path) -> None:
    app = make_app(tmp_path, {".gitignore": "a*" * 40 + "b\n", "a" * 200 + "c": ""})
    started = time.monotonic()
    assert shipped(app) == {".gitignore", "a" * 200 + "c"}
    assert time.monotonic() - started < 2  # pathspec's regexp needs centuries for it


def test_never_shipped_whatever_the_file_says(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {".dockerignore": "!.git\n!**/__pycache__\n", ".git/config": "token", "a/__pycache__/m.pyc": "",
         "a/m.py": ""},
    )  # fmt: skip
    assert shipped(app) == {".dockerignore", "a/m.py"}


def test_a_re_included_files_directory_belongs_to_the_app_user(tmp_path: Path) -> None:
    app = app_with(tmp_path, "build\n!build/keep/me.txt\n")
    entries = {e.name: e for e in app_entries(app, "app")}
    assert entries["app/build"] == Entry("app/build", owner=10001)
    assert entries["app/build/keep"] == Entry("app/build/keep", owner=10001)
    assert "app/build/out" not in entries


@pytest.mark.parametrize(
    ("ignore", "message"),
    [
        ("ok\n!\n", ".dockerignore:2: '!' alone re-includes nothing; name what to re-include"),
        ("! \n", ".dockerignore:1: '!' alone re-includes nothing;"),
        ("!/\n", ".dockerignore:1: '!' alone re-includes nothing;"),
        ("a\\\n", ".dockerignore:1: ends with a lone '\\'; escape it as '\\\\'"),
        ("[ab\n", ".dockerignore:1: has a '[' that is never closed; close it with ']'"),
        ("x[z-a]\n", ".dockerignore:1: is not a valid pattern;"),
        ("\\q\n", ".dockerignore:1: is not a valid pattern;"),
        ("x\n" * 2001, f".dockerignore: has more than {dockerignore.MAX_PATTERNS} patterns"),
    ],
)
def test_patterns_docker_refuses_are_one_line_errors(
    tmp_path: Path, ignore: str, message: str
) -> None:
    app = make_app(tmp_path, {".dockerignore": ignore, "app.py": ""})
    with pytest.raises(SpecError) as caught:
        app_entries(app, "app")
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_pattern_built_to_backtrack_runs_in_linear_time(tmp_path: Path) -> None:
    hostile = "**/" + "a*" * 40 + "b\n" + "**/**/" * 40 + "c\n"
    deep = "/".join(["a" * 60] * 8) + "c"  # ends as the pattern does, matches nowhere
    app = make_app(tmp_path, {".dockerignore": hostile, "a" * 39 + "b": "", deep: ""})
    started = time.monotonic()
    assert len(shipped(app)) == 3
    assert time.monotonic() - started < 2  # Python's re needs centuries for these


@pytest.mark.parametrize("target", ["/etc/hostname", "../outside", "/dev/zero"])
def test_an_ignore_file_linking_outside_is_refused_unread(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside").write_text("CANARY-ignore\n")
    app = make_app(tmp_path, {"app.py": ""})
    (app / ".dockerignore").symlink_to(target)
    with pytest.raises(SpecError) as caught:
        app_entries(app, "app")
    assert str(caught.value).startswith(".dockerignore: ")
    assert "CANARY" not in str(caught.value) and target not in str(caught.value)


def test_an_oversized_ignore_file_is_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path, {".dockerignore": "# padding\n" * 30_000})
    with pytest.raises(SpecError, match=r"^\.dockerignore: is larger than 256 KiB"):
        app_entries(app, "app")


def test_loops_and_dangling_links_are_shipped_as_links(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"real.py": ""})
    for name, target in {"a": "b", "b": "a", "self": "self", "d": ".", "gone": "missing.py",
                         "sub/up": "../real.py"}.items():  # fmt: skip
        (app / name).parent.mkdir(exist_ok=True)
        (app / name).symlink_to(target)
    links = {e.name: e.link for e in app_entries(app, "app") if e.link}
    assert links == {"app/a": "b", "app/b": "a", "app/self": "self", "app/d": ".",
                     "app/gone": "missing.py", "app/sub/up": "../real.py"}  # fmt: skip


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("up", ".."),  # the app's parent, with whatever sits beside the app
        ("gone", "../missing"),  # dangling, outside
        ("abs", "/etc/passwd"),
        ("loop", "../out/back"),  # a loop that passes outside: judged by its text
    ],
)
def test_links_out_of_the_app_are_refused_in_one_line(
    tmp_path: Path, link: str, target: str
) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "back").symlink_to("../app/loop")
    (app / link).symlink_to(target)
    with pytest.raises(ShipwayError) as caught:
        app_entries(app, "app")
    assert str(caught.value) == (
        f"{link}: the symlink points outside the app directory ({target}); "
        "copy the file into the app, or add it to .dockerignore"
    )


def test_an_ignored_link_out_of_the_app_is_no_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, {".dockerignore": "private\n", "app.py": ""})
    (app / "private").symlink_to("/etc")
    assert shipped(app) == {".dockerignore", "app.py"}


def test_a_tree_deeper_than_the_recursion_limit_is_walked(tmp_path: Path) -> None:
    deep = make_app(tmp_path, {}) / Path(*["d"] * 300)
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_text("x")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(traceback.extract_stack()) + 100)  # a tree 300 deep is deeper
    try:
        names = shipped(tmp_path / "app")
    finally:
        sys.setrecursionlimit(limit)
    assert names == {f"{'d/' * 300}leaf.txt"}


def test_a_directory_that_cannot_be_listed_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, {"app.py": "", "data/db/x": ""})
    scandir = os.scandir

    def refusing(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "db":
            raise PermissionError(13, "Permission denied")
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(ShipwayError) as caught:
        app_entries(app, "app")
    assert str(caught.value) == (
        "data/db: the directory cannot be read (Permission denied); "
        "fix its permissions, or add it to .dockerignore"
    )
    (app / ".dockerignore").write_text("data/db\n")
    assert shipped(app) == {".dockerignore", "app.py"}
