"""A delivery's commit fetched from a real git host over smart HTTP on 127.0.0.1 (the real
``git http-backend``, wanting a token): by its name, or through its branch; the token is
sent as a header, never on git's command line; what a delivery names is never an option
or a local path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.errors import ShipwayError
from shipway.gitrepos import export
from shipway.webhooks import fetch
from tests.helpers.githost import GitHost, git_host, git_out

TOKEN = "tok-" + "s3cret" * 4


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[GitHost, list[str]]]:
    """A repository ``shop.git`` with two commits on main (the first no branch's tip)."""
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    git_out(hosted, "init", "--quiet", "--bare", "shop.git")
    work = tmp_path / "work"
    work.mkdir()
    git_out(work, "init", "--quiet", "--initial-branch=main")
    commits = []
    for text in ("one", "two"):
        (work / "app").mkdir(exist_ok=True)
        (work / "app" / "hello.txt").write_text(text)
        git_out(work, "add", "-A")
        git_out(work, "commit", "--quiet", "-m", text)
        commits.append(git_out(work, "rev-parse", "HEAD"))
    git_out(work, "push", "--quiet", str(hosted / "shop.git"), "main")
    with git_host(hosted, TOKEN) as host:
        yield host, commits


def test_a_commit_is_fetched_with_the_token_and_exported(
    upstream: tuple[GitHost, list[str]], tmp_path: Path
) -> None:
    host, commits = upstream
    url = host.url("shop.git")
    with pytest.raises(ShipwayError) as refused:
        fetch.fetch(tmp_path / "cache", "shop", url, commits[1], "main")
    assert "\n" not in str(refused.value) and host.refused >= 1

    repo = fetch.fetch(tmp_path / "cache", "shop", url, commits[1], "main", TOKEN, "oauth2")
    assert host.users == {"oauth2"}
    export(repo, commits[1], tmp_path / "out", "app")
    assert (tmp_path / "out" / "hello.txt").read_text() == "two"
    # An older commit (no branch's tip): fetched by name, or else through its branch.
    repo = fetch.fetch(tmp_path / "cache", "shop", url, commits[0], "main", TOKEN)
    export(repo, commits[0], tmp_path / "old", "app")
    assert (tmp_path / "old" / "hello.txt").read_text() == "one"
    # The token is no argument of any git fetch runs (ps would show it): only env.
    assert TOKEN not in " ".join(fetch._env(url, "", "u").values())
    assert any(
        TOKEN not in v and "Authorization" in v for v in fetch._env(url, TOKEN, "u").values()
    )


def test_a_commit_the_host_does_not_have_fails_in_one_line(
    upstream: tuple[GitHost, list[str]], tmp_path: Path
) -> None:
    host, _ = upstream
    missing = "0123456789abcdef" * 2 + "01234567"
    with pytest.raises(ShipwayError) as failed:
        fetch.fetch(tmp_path / "cache", "shop", host.url("shop.git"), missing, "main", TOKEN)
    assert missing[:12] in str(failed.value) and "\n" not in str(failed.value)
    assert TOKEN not in str(failed.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("file:///etc", "not an http(s)://"),
        ("/srv/repo.git", "not an http(s)://"),
        ("--upload-pack=touch /tmp/x", "not an http(s)://"),
        ("ext::sh -c touch% /tmp/x", "not an http(s)://"),
        ("http://-oProxyCommand=x/repo.git", "not an http(s)://"),
        ("https://user:pw@example.com/repo.git", "not an http(s)://"),
        ("ssh://git@example.com/repo.git", "SSH deploy keys are not supported"),
        ("git@example.com:team/repo.git", "SSH deploy keys are not supported"),
    ],
)
def test_what_a_delivery_names_is_never_an_option_nor_a_path(
    url: str, says: str, tmp_path: Path
) -> None:
    with pytest.raises(ShipwayError) as refused:
        fetch.fetch(tmp_path / "cache", "shop", url, "a" * 40, "main")
    assert says in str(refused.value)
    assert not (tmp_path / "cache").exists()  # refused before git ran
