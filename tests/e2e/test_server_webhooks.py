"""Webhooks through a real ``shipway server`` on 127.0.0.1 and the real cluster (issue 13).

A bare repository served over git's smart HTTP on 127.0.0.1 by the real ``git
http-backend``, wanting a token, stands in for GitHub's and GitLab's git hosting. The
tests send deliveries in the providers' documented shapes, signed right and wrong,
replayed, for another branch, a ping, a pull request opened, updated and closed (a
GitLab merge), and bodies that are not deliveries; and assert each answer, its record,
the deploys they start, the app answering the pushed code, and the review app with the
parent's config made and then destroyed."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube import ApiError, Client
from lightkube.resources.core_v1 import Namespace

from shipway.kube.client import get_or_none
from shipway.reviewapps import name_for
from shipway.webhooks.signatures import signature
from tests.e2e.cli import NewApp, message_at, run_shipway
from tests.e2e.kube import wait_for
from tests.helpers.githost import GitHost, git_host, git_out
from tests.helpers.server import RunningServer

pytestmark = pytest.mark.e2e

TOKEN = "glpat-" + "x9" * 10
GREETING = "Hello from a webhook"


@pytest.fixture
def server(team_server: RunningServer) -> RunningServer:
    """The session's server (the webhooks' apps are the test's own)."""
    return team_server


def _commit(work: Path, message: str) -> str:
    git_out(work, "add", "-A")
    git_out(work, "commit", "--quiet", "-m", message)
    return git_out(work, "rev-parse", "HEAD")


class Hook:
    """Deliveries to one app's hook URLs, signed with a secret."""

    def __init__(self, server: RunningServer, app: str, secret: str):
        self.server, self.app, self.secret = server, app, secret
        self.count = 0

    def github(
        self, event: str, payload: Any, secret: str | None = None, delivery: str | None = None
    ) -> httpx2.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.count += 1
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or f"gh-{self.app}-{self.count}",
            "X-Hub-Signature-256": signature(secret or self.secret, body),
        }
        return self.post("github", body, headers)

    def gitlab(self, event: str, payload: Any, token: str | None = None) -> httpx2.Response:
        self.count += 1
        headers = {
            "Content-Type": "application/json",
            "X-Gitlab-Event": event,
            "X-Gitlab-Event-UUID": f"gl-{self.app}-{self.count}",
            "X-Gitlab-Token": token or self.secret,
        }
        return self.post("gitlab", json.dumps(payload).encode(), headers)

    def post(
        self,
        provider: str,
        body: bytes | Iterator[bytes],
        headers: dict[str, str],
        app: str | None = None,
    ) -> httpx2.Response:
        url = f"{self.server.url}/hooks/{provider}/{app or self.app}"
        started = time.monotonic()
        answer = httpx2.post(url, content=body, headers=headers, timeout=30)
        # Answered within a second, whatever the delivery makes the server do.
        assert time.monotonic() - started < 1.0, (answer.status_code, answer.text)
        return answer


def push(commit: str, clone_url: str, branch: str = "main") -> dict[str, Any]:
    """GitHub's push payload (the fields Shipway reads, and a few it does not)."""
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": commit,
        "deleted": False,
        "repository": {"full_name": "acme/hello", "clone_url": clone_url},
        "pusher": {"name": "octocat"},
    }


def pull_request(action: str, number: int, commit: str, clone_url: str) -> dict[str, Any]:
    repo = {"full_name": "acme/hello", "clone_url": clone_url}
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": commit, "repo": repo},
            "base": {"ref": "main", "repo": repo},
        },
        "repository": repo,
    }


def _huge() -> Iterator[bytes]:
    """A body past the 5 MiB limit, streamed (no Content-Length): refused as it comes."""
    for _ in range(5 * 16 + 1):
        yield b" " * (64 * 1024)


def deliveries(server: RunningServer, app: str) -> list[dict[str, Any]]:
    answer = server.api("GET", f"/apps/{app}/git/deliveries")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def ended(server: RunningServer, app: str, delivery: int) -> dict[str, Any]:
    """The delivery's record once its work ended (not ``accepted`` any more)."""

    def check() -> dict[str, Any] | None:
        row = next(d for d in deliveries(server, app) if d["id"] == delivery)
        return row if row["outcome"] != "accepted" else None

    return wait_for(f"delivery {delivery} of {app}", check, timeout=240)


def deployed(server: RunningServer, deploy_id: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        record: dict[str, Any] = server.api("GET", f"/deploys/{deploy_id}").json()
        return record if record["status"] in ("finished", "failed", "aborted") else None

    record = wait_for(f"deploy {deploy_id}", check, timeout=300, every=1)
    assert record["status"] == "finished", record
    return record


@pytest.fixture
def hosted(tmp_path: Path, new_app: NewApp) -> Iterator[tuple[GitHost, Path, str]]:
    """The hello example as a repository on the git host: (host, work tree, app name)."""
    app_dir, name = new_app("hello")
    root = tmp_path / "hosted"
    root.mkdir()
    git_out(root, "init", "--quiet", "--bare", "hello.git")
    git_out(app_dir, "init", "--quiet", "--initial-branch=main")
    _commit(app_dir, "the app")
    git_out(app_dir, "push", "--quiet", str(root / "hello.git"), "main")
    with git_host(root, TOKEN) as host:
        yield host, app_dir, name


@dataclass
class Case:
    server: RunningServer
    host: GitHost
    work: Path
    app: str
    cli: dict[str, str]
    clone_url: str = ""
    main: str = ""
    secret: str = ""
    #: One for the test: its count numbers the deliveries' ids.
    hook: Hook | None = None


def _hook(case: Case) -> Hook:
    assert case.hook is not None
    return case.hook


def test_webhooks_deploy_pushes_and_review_apps(
    server: RunningServer,
    hosted: tuple[GitHost, Path, str],
    new_app: NewApp,
    platform: dict[str, str],
    kube: Client,
) -> None:
    host, work, app = hosted
    cli = {**platform, "SHIPWAY_URL": server.url, "SHIPWAY_TOKEN": server.admin_token}
    case = Case(
        server, host, work, app, cli, host.url("hello.git"), git_out(work, "rev-parse", "HEAD")
    )
    assert server.api("POST", "/apps", json={"name": app}).status_code == 201
    _secret_and_refusals(case)
    _signed_for_another_app(case, new_app)
    url = _a_push_deploys(case)
    review = name_for(app, 7)
    try:
        _a_review_app_comes_and_goes(case, review, url, kube)
    finally:
        with contextlib.suppress(ApiError):
            kube.delete(Namespace, review)
    _the_record(case)


def _secret_and_refusals(case: Case) -> None:
    server, app, main, clone_url = case.server, case.app, case.main, case.clone_url
    # No secret yet: the hook answers as for an app that does not exist (and records it).
    unset = Hook(server, app, "anything").github("push", push(main, clone_url))
    assert unset.status_code == 404
    nowhere = Hook(server, "no-such-app", "anything").github("push", push(main, clone_url))
    assert nowhere.status_code == 404 and nowhere.json() == unset.json()

    made = run_shipway(case.cli, "git:webhook", app, "--json")
    assert made.returncode == 0, made.stderr
    case.secret = json.loads(made.stdout)["secret"]
    urls = json.loads(made.stdout)["urls"]
    assert urls["github"] == f"{server.url}/hooks/github/{app}"
    piped = run_shipway(case.cli, "git:webhook", app)  # not a terminal, no --json: refused
    assert piped.returncode != 0 and "printed once" in piped.stderr
    assert case.secret not in piped.stdout
    hook = case.hook = Hook(server, app, case.secret)

    # GitHub's ping; a push to another branch (GitLab's shape); wrong secrets.
    pong = hook.github("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert (pong.status_code, pong.json()["outcome"]) == (200, "pong")
    other = hook.gitlab(
        "Push Hook",
        {
            "object_kind": "push",
            "ref": "refs/heads/topic",
            "checkout_sha": main,
            "project": {"git_http_url": clone_url},
        },
    )
    assert (other.status_code, other.json()["outcome"]) == (200, "ignored"), other.text
    assert "topic" in other.json()["reason"]
    assert hook.github("push", push(main, clone_url), secret="wrong").status_code == 401
    assert hook.gitlab("Push Hook", {"object_kind": "push"}, token="wrong").status_code == 401

    # Bad input: each a 4xx, one line, recorded.
    bad = [
        (hook.github("push", b"{not json"), 400, "not JSON"),
        (hook.github("push", b"[" * 200_000 + b"]" * 200_000), 400, "not JSON"),
        (hook.post("github", _huge(), {"X-GitHub-Event": "push"}), 413, "larger than"),
        (hook.github("push", push(main, "file:///etc")), 400, "clone URL"),
        (hook.github("push", push(main, "--upload-pack=touch /tmp/pwned")), 400, "clone URL"),
    ]
    for answer, status, says in bad:
        assert answer.status_code == status, answer.text
        assert says in answer.json()["error"] and "\n" not in answer.text


def _signed_for_another_app(case: Case, new_app: NewApp) -> None:
    server, main, clone_url, secret, hook = (
        case.server, case.main, case.clone_url, case.secret, _hook(case),
    )  # fmt: skip
    # Signed for another app: the secret of one app does not open another's hook.
    _, other_app = new_app("hello")
    assert server.api("POST", "/apps", json={"name": other_app}).status_code == 201
    assert server.api("POST", f"/apps/{other_app}/git/webhook-secret").status_code == 201
    body = json.dumps(push(main, clone_url)).encode()
    crossed = hook.post(
        "github",
        body,
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(secret, body)},
        app=other_app,
    )
    assert crossed.status_code == 401
    assert [d["outcome"] for d in deliveries(server, other_app)] == ["rejected"]


def _a_push_deploys(case: Case) -> str:
    """The app's URL, once a push deployed it."""
    server, app, main, clone_url, hook, host = (
        case.server, case.app, case.main, case.clone_url, _hook(case), case.host,
    )  # fmt: skip
    # Without the credential the host refuses the fetch: the delivery fails, recorded.
    refused = hook.github("push", push(main, clone_url))
    assert refused.status_code == 202, refused.text
    record = ended(server, app, refused.json()["delivery"])
    assert record["outcome"] == "failed" and "fetching" in record["reason"], record
    assert host.refused >= 1 and host.served == 0

    # With it (from stdin, never the command line), a push deploys the app.
    set_token = run_shipway(case.cli, "git:credential", app, "--username", "oauth2", "--token-stdin",
                            stdin=TOKEN + "\n")  # fmt: skip
    assert set_token.returncode == 0 and TOKEN not in set_token.stdout, set_token.stderr
    config = server.api("PATCH", f"/apps/{app}/config", json={"changes": {"GREETING": GREETING}})
    assert config.status_code == 200, config.text
    accepted = hook.github("push", push(main, clone_url), delivery="gh-first-push")
    assert accepted.status_code == 202 and accepted.json()["action"] == "deploy", accepted.text
    record = ended(server, app, accepted.json()["delivery"])
    assert record["outcome"] == "deployed" and record["commit"] == main, record
    release = deployed(server, record["deploy"])
    assert (release["source"], release["by"], release["commit"]) == (
        "webhook",
        "webhook:github",
        main,
    )
    assert wait_for("the app", lambda: message_at(release["url"])) == GREETING
    assert host.users == {"oauth2"}
    replay = hook.github("push", push(main, clone_url), delivery="gh-first-push")
    assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate")
    url: str = release["url"]
    return url


def _a_review_app_comes_and_goes(case: Case, review: str, url: str, kube: Client) -> None:
    server, app, work, clone_url, hook, host = (
        case.server, case.app, case.work, case.clone_url, _hook(case), case.host,
    )  # fmt: skip
    # Review apps, turned on with the CLI: a pull request's code, the parent's config
    # vars; then merged (GitLab) and gone.
    turned = run_shipway(case.cli, "git:settings", app, "--review-apps", "--json")
    assert turned.returncode == 0 and json.loads(turned.stdout)["review_apps"], turned.stderr
    git_out(work, "checkout", "--quiet", "-b", "feature")
    source = (work / "app.py").read_text()
    (work / "app.py").write_text(source.replace('"Hello from Shipway!")', '"x") + " (pr)"'))
    feature = _commit(work, "say which app answers")
    git_out(work, "push", "--quiet", str(host.root / "hello.git"), "feature")
    opened = hook.github("pull_request", pull_request("opened", 7, feature, clone_url))
    assert opened.status_code == 202 and opened.json()["app"] == review, opened.text
    record = ended(server, app, opened.json()["delivery"])
    assert record["outcome"] == "review-deployed" and record["target"] == review, record
    review_release = deployed(server, record["deploy"])
    wanted = f"{GREETING} (pr)"
    assert wait_for("the review app", lambda: message_at(review_release["url"])) == wanted
    assert message_at(url) == GREETING  # the parent is untouched
    listed = {a["app"] for a in server.api("GET", "/apps").json()}
    assert {app, review} <= listed

    (work / "app.py").write_text(source.replace('"Hello from Shipway!")', '"x") + " (v2)"'))
    updated = _commit(work, "a second change")
    git_out(work, "push", "--quiet", str(host.root / "hello.git"), "feature")
    synced = hook.github("pull_request", pull_request("synchronize", 7, updated, clone_url))
    assert synced.status_code == 202, synced.text
    record = ended(server, app, synced.json()["delivery"])
    assert record["outcome"] == "review-deployed", record
    second = deployed(server, record["deploy"])
    assert wait_for("the update", lambda: message_at(second["url"]) == f"{GREETING} (v2)")

    merged = hook.gitlab(
        "Merge Request Hook",
        {
            "object_kind": "merge_request",
            "object_attributes": {
                "iid": 7,
                "action": "merge",
                "source_branch": "feature",
                "source_project_id": 1,
                "target_project_id": 1,
                "last_commit": {"id": updated},
                "source": {"git_http_url": clone_url},
            },
        },
    )
    assert merged.status_code == 202, merged.text
    record = ended(server, app, merged.json()["delivery"])
    assert record["outcome"] == "review-destroyed", record
    assert get_or_none(kube, Namespace, review) is None
    assert review not in {a["app"] for a in server.api("GET", "/apps").json()}


def _the_record(case: Case) -> None:
    cli, app, secret = case.cli, case.app, case.secret
    # The record, through the CLI; no secret or token anywhere it or the log shows.
    shown = run_shipway(cli, "git:deliveries", app, "--json")
    assert shown.returncode == 0, shown.stderr
    outcomes = [d["outcome"] for d in json.loads(shown.stdout)]
    assert outcomes[:4] == ["review-destroyed", "review-deployed", "review-deployed", "duplicate"]
    assert outcomes.count("rejected") == 8 and "pong" in outcomes and "ignored" in outcomes
    table = run_shipway(cli, "git:deliveries", app)
    assert table.returncode == 0 and "review-destroyed" in table.stdout
    for text in (shown.stdout, table.stdout, case.server.logs()):
        assert secret not in text and TOKEN not in text
