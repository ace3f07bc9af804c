"""``git push`` to a real ``shipway server`` on 127.0.0.1 deploys to the real cluster
(issue 13): the real git client, over smart HTTP, with the token in ``~/.netrc`` as
``shipway login`` leaves it. The push streams the deploy back as ``remote:`` lines; a
failing commit is rejected while the running release keeps serving; two pushes at once
are serialized; credentials and roles are checked; clones work; bad pushes get clear
messages and deploy nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.cli import NewApp, message_at
from tests.e2e.kube import wait_for
from tests.helpers.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

Git = Callable[..., subprocess.CompletedProcess[str]]
APP_FILE = "app.py"
GREETING = "Hello from Shipway!"


def git_as(home: Path, server: RunningServer, token: str | None) -> Git:
    """git run as a user whose ``~/.netrc`` holds ``token`` for the server (none: no
    ``.netrc``), with no other configuration and no prompts."""
    home.mkdir(parents=True, exist_ok=True)
    if token is not None:
        host = urlsplit(server.url).hostname
        (home / ".netrc").write_text(f"machine {host} login shipway password {token}\n")
        (home / ".netrc").chmod(0o600)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }

    def git(
        *args: str, cwd: Path | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return git


def commit(git: Git, repo: Path, message: str, add: bool = True) -> str:
    assert not add or git("add", "-A", cwd=repo).returncode == 0
    done = git("commit", "--quiet", "--allow-empty", "-m", message, cwd=repo)
    assert done.returncode == 0, done.stderr
    return git("rev-parse", "HEAD", cwd=repo).stdout.strip()


def greet(repo: Path, greeting: str) -> None:
    source = repo / APP_FILE
    text = source.read_text()
    start = text.index('"GREETING", "') + len('"GREETING", "')
    end = text.index('"', start)
    source.write_text(text[:start] + greeting + text[end:])


def readme_only(server: RunningServer, tmp_path: Path) -> tuple[Git, Path]:
    """The admin's git, and a repository whose one commit has only a README."""
    work = tmp_path / "work"
    admin = git_as(tmp_path / "admin", server, server.admin_token)
    assert admin("init", "--quiet", "--initial-branch=main", str(work)).returncode == 0
    (work / "README").write_text("hello\n")
    commit(admin, work, "readme")
    return admin, work


def own(server: RunningServer, app: str) -> None:
    created = server.api("POST", "/apps", json={"name": app})
    assert created.status_code == 201, created.text


def url_in(pushed: str) -> str:
    """The app's URL from a push's ``remote: released vN: URL`` line."""
    line = next(line for line in pushed.splitlines() if "released v" in line)
    return line.rsplit(": ", 1)[1].strip()


def at_once(git: Git, clones: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    """``git push origin main`` in each clone, all at once."""
    results: dict[int, subprocess.CompletedProcess[str]] = {}

    def push(n: int) -> None:
        results[n] = git("push", "origin", "main", cwd=clones[n])

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(clones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[n] for n in range(len(clones))]


def test_a_push_deploys_a_failing_one_is_rejected_and_pushes_queue(
    team_server: RunningServer, new_app: NewApp, tmp_path: Path
) -> None:
    server = team_server
    app_dir, name = new_app("hello")
    own(server, name)
    git = git_as(tmp_path / "home", server, server.admin_token)
    remote = f"{server.url}/{name}.git"
    assert git("init", "--quiet", "--initial-branch=main", cwd=app_dir).returncode == 0
    assert git("remote", "add", "shipway", remote, cwd=app_dir).returncode == 0
    first = commit(git, app_dir, "first")

    pushed = git("push", "shipway", "main", cwd=app_dir)
    assert pushed.returncode == 0, pushed.stderr
    assert f"remote: deploying {first[:12]} to {name}" in pushed.stderr
    assert "remote: released v1: " in pushed.stderr
    url = url_in(pushed.stderr)
    assert wait_for("the app", lambda: message_at(url)) == GREETING

    # Two clones push a one-line change each at once: one deploys (v2), the other waits
    # for it, then is refused as the branch moved under it; the branch names the one
    # that runs.
    clones = [tmp_path / "a", tmp_path / "b"]
    heads = []
    for n, clone in enumerate(clones):
        assert git("clone", "--quiet", remote, str(clone)).returncode == 0
        greet(clone, f"Hello from clone {n}")
        heads.append(commit(git, clone, f"clone {n}"))
    results = at_once(git, clones)
    won = [n for n in range(2) if results[n].returncode == 0]
    assert len(won) == 1, [r.stderr for r in results]
    winner, loser = won[0], 1 - won[0]
    assert "released v2" in results[winner].stderr
    assert "waiting for it to end" in results[loser].stderr
    assert "the branch moved while this push waited" in results[loser].stderr
    # kube-proxy may route to v1's pods for a moment after the rollout.
    wait_for("v2", lambda: message_at(url) == f"Hello from clone {winner}", timeout=30)
    listed = git("ls-remote", remote, "refs/heads/main").stdout.split()
    assert listed[0] == heads[winner]

    # A commit that crashes at start is rejected with the reason; v2 keeps serving and
    # the branch still names its commit.
    crash = clones[winner]
    (crash / APP_FILE).write_text("raise SystemExit(3)\n" + (crash / APP_FILE).read_text())
    commit(git, crash, "crash")
    refused = git("push", "origin", "main", cwd=crash)
    assert refused.returncode != 0
    assert "[remote rejected] main -> main (deploy failed:" in refused.stderr, refused.stderr
    assert message_at(url) == f"Hello from clone {winner}"
    assert git("ls-remote", remote, "refs/heads/main").stdout.split()[0] == heads[winner]

    # Deleting the deploy branch is refused; the losing clone's commit, force-pushed over
    # the winner's (a rewritten history), deploys.
    deleted = git("push", "origin", ":main", cwd=crash)
    assert deleted.returncode != 0 and "never deleted" in deleted.stderr, deleted.stderr
    forced = git("push", "--force", "origin", "main", cwd=clones[loser])
    assert forced.returncode == 0 and "released v" in forced.stderr, forced.stderr
    assert "(forced update)" in forced.stderr
    wait_for("the forced", lambda: message_at(url) == f"Hello from clone {loser}", timeout=30)
    assert git("ls-remote", remote, "refs/heads/main").stdout.split()[0] == heads[loser]

    # The deploys are the server's records, by the pusher, with their commits.
    deploys = server.api("GET", f"/apps/{name}/deploys").json()
    assert [(d["source"], d["status"], d["commit"]) for d in deploys][:4] == [
        ("git", "finished", heads[loser]),
        ("git", "failed", deploys[1]["commit"]),
        ("git", "finished", heads[winner]),
        ("git", "finished", first),
    ]
    assert {d["by"] for d in deploys} == {"admin@example.com"}


def test_who_may_push_and_clone(
    team_server: RunningServer, new_app: NewApp, tmp_path: Path
) -> None:
    server = team_server
    _app_dir, name = new_app("hello")
    own(server, name)
    remote = f"{server.url}/{name}.git"
    team = server.api("GET", "/teams").json()[0]["name"]
    viewer = server.api("POST", "/users", json={"email": f"viewer-{name}@example.com"}).json()
    role = server.api("PUT", f"/teams/{team}/members/{viewer['email']}", json={"role": "viewer"})
    assert role.status_code == 200, role.text

    admin, work = readme_only(server, tmp_path)
    # Pushing to another branch is refused before anything is deployed: this test
    # needs a commit on the server without deploying one.
    other = admin("push", remote, "main:topic", cwd=work)
    assert "[remote rejected] main -> topic (only main deploys" in other.stderr, other.stderr

    nobody = git_as(tmp_path / "nobody", server, None)
    refused = nobody("push", remote, "main", cwd=work)
    assert refused.returncode != 0 and "Authentication failed" not in refused.stdout
    assert "could not read Username" in refused.stderr, refused.stderr
    wrong = git_as(tmp_path / "wrong", server, "shp_not-a-token")
    refused = wrong("push", remote, "main", cwd=work)
    # curl sent the .netrc's token; refused, git asks for another (and may not prompt).
    assert refused.returncode != 0 and "could not read Username" in refused.stderr

    seer = git_as(tmp_path / "viewer", server, viewer["token"])
    refused = seer("push", remote, "main", cwd=work)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert "your role does not allow this" in refused.stderr
    cloned = seer("clone", "--quiet", remote, str(tmp_path / "clone"))
    assert cloned.returncode == 0, cloned.stderr  # an empty repository: read is allowed
    # Another team's app, or none, is not found, alike.
    missing = admin("ls-remote", f"{server.url}/no-such-app.git")
    assert missing.returncode != 0 and "not found" in missing.stderr.lower(), missing.stderr


def test_git_remote_and_pushes_shipway_cannot_deploy(
    team_server: RunningServer, new_app: NewApp, tmp_path: Path, platform: dict[str, str]
) -> None:
    server = team_server
    _app_dir, name = new_app("hello")
    remote = f"{server.url}/{name}.git"
    admin, work = readme_only(server, tmp_path)

    # shipway create in a git work tree adds the remote; git:remote sets it again.
    cli = {**platform, "SHIPWAY_URL": server.url, "SHIPWAY_TOKEN": server.admin_token}

    def shipway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipway", *args],
            cwd=work, env=cli, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    created = shipway("create", name)
    assert created.returncode == 0 and f"git remote shipway: {remote}" in created.stderr
    moved = admin("remote", "set-url", "shipway", "http://elsewhere.invalid/x.git", cwd=work)
    assert moved.returncode == 0
    added = shipway("git:remote", name)
    assert added.returncode == 0 and "git push shipway main" in added.stderr, added.stderr
    assert admin("remote", "get-url", "shipway", cwd=work).stdout.strip() == remote

    # Pushes Shipway cannot deploy are refused with the reason, before any deploy.
    def refused_for(files: Callable[[Path], object], reason: str, add: bool = True) -> None:
        files(work)
        commit(admin, work, reason, add)
        pushed = admin("push", "shipway", "main", cwd=work)
        assert pushed.returncode != 0, pushed.stderr
        assert "[remote rejected] main -> main (commit " in pushed.stderr, pushed.stderr
        assert reason in pushed.stderr, pushed.stderr
        assert admin("reset", "--quiet", "--hard", "HEAD~1", cwd=work).returncode == 0

    def submodule(tree: Path) -> None:
        head = admin("rev-parse", "HEAD", cwd=tree).stdout.strip()
        added = admin("update-index", "--add", "--cacheinfo", f"160000,{head},vendored", cwd=tree)
        assert added.returncode == 0, added.stderr

    # (git add -A would drop a gitlink with no directory: committed as staged)
    refused_for(submodule, "'vendored' is a git submodule", add=False)
    lfs = "*.bin filter=lfs diff=lfs -text\n"
    refused_for(lambda tree: (tree / ".gitattributes").write_text(lfs), "Git LFS")
    refused_for(lambda tree: (tree / "leak").symlink_to("/etc/passwd"), "points outside")
    # An object git calls dangerous (a tree entry named .git) never gets in.
    blob = admin("hash-object", "-w", "--stdin", cwd=work, input="x\n").stdout.strip()
    tree = admin("mktree", cwd=work, input=f"100644 blob {blob}\t.git\n").stdout.strip()
    dotgit = admin("commit-tree", "-m", "a .git entry", tree, cwd=work).stdout.strip()
    refused = admin("push", "shipway", f"{dotgit}:refs/heads/main", cwd=work)
    assert "hasDotgit" in refused.stderr and "(unpacker error)" in refused.stderr, refused.stderr
    odd = admin("push", "shipway", "main:we$ird", cwd=work)
    assert "[remote rejected] main -> we$ird (only main deploys" in odd.stderr, odd.stderr
    assert server.api("GET", f"/apps/{name}/deploys").json() == []

    # A commit with nothing Shipway can run: its deploy fails in one line, the push is
    # rejected with the reason, and the branch is not made.
    pushed = admin("push", "shipway", "main", cwd=work)
    assert "[remote rejected] main -> main (deploy failed: " in pushed.stderr, pushed.stderr
    assert "cannot tell how to start the web process" in pushed.stderr
    assert admin("ls-remote", remote, "refs/heads/main").stdout == ""


def test_a_push_over_the_upload_limit_is_refused_in_gits_words(
    platform: dict[str, str], new_app: NewApp, tmp_path: Path
) -> None:
    with running_server(tmp_path / "state", None, platform, "--max-upload-mib", "1") as server:
        _app_dir, name = new_app("hello")
        own(server, name)
        work = tmp_path / "work"
        admin = git_as(tmp_path / "admin", server, server.admin_token)
        assert admin("init", "--quiet", "--initial-branch=main", str(work)).returncode == 0
        (work / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # incompressible
        commit(admin, work, "a huge file")
        pushed = admin("push", f"{server.url}/{name}.git", "main", cwd=work)
        assert pushed.returncode != 0
        assert "remote: fatal: pack exceeds maximum allowed size" in pushed.stderr, pushed.stderr
        assert server.api("GET", f"/apps/{name}/deploys").json() == []
