"""What a delivery asks for, from payloads shaped as GitHub's and GitLab's documentation
shows them (the fields Shipway reads, and some it does not), and every way one can be
unreadable or not Shipway's business."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shipway.webhooks.events import MAX_BODY, BadDelivery, Event, github, gitlab

SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
OTHER = "c5f10a1b8e5a3ee3d01c0c4a4b06e47b3f6f3a21"
URL = "https://github.com/octo-org/tasks.git"


def body(data: Any) -> bytes:
    return json.dumps(data).encode()


def github_push(**changes: Any) -> bytes:
    data = {
        "ref": "refs/heads/main",
        "before": OTHER,
        "after": SHA,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": "octo-org/tasks", "clone_url": URL},
        "pusher": {"name": "octocat"},
        "commits": [{"id": SHA, "message": "a one-line change"}],
    }
    return body(data | changes)


def github_pr(action: str, head_repo: str | None = "octo-org/tasks") -> bytes:
    repo = {"full_name": "octo-org/tasks", "clone_url": URL}
    head = {"ref": "feature/x", "sha": SHA, "repo": None}
    if head_repo:
        head["repo"] = {"full_name": head_repo, "clone_url": f"https://github.com/{head_repo}.git"}
    return body(
        {
            "action": action,
            "number": 7,
            "pull_request": {"number": 7, "head": head, "base": {"ref": "main", "repo": repo}},
            "repository": repo,
        }
    )


def test_a_github_push_names_branch_commit_and_where_to_fetch() -> None:
    assert github("push", github_push()) == Event("push", "main", SHA, URL)
    assert github("ping", b'{"zen": "Keep it logically awesome."}') == Event("ping")


@pytest.mark.parametrize(
    ("event", "payload", "why"),
    [
        ("push", github_push(deleted=True, after="0" * 40), "deleted"),
        ("push", github_push(ref="refs/tags/v1.0"), "not a branch"),
        ("push", github_push(ref="refs/heads/-rf"), "odd characters"),
        ("push", github_push(ref="refs/heads/a..b"), "odd characters"),
        ("push", github_push(ref="refs/heads/x\u202ey"), "odd characters"),
        ("issues", b'{"action": "opened"}', "'issues' events deploy nothing"),
        ("pull_request", github_pr("labeled"), "changes no code"),
    ],
)
def test_what_deploys_nothing_is_ignored_with_a_reason(
    event: str, payload: bytes, why: str
) -> None:
    found = github(event, payload)
    assert found.kind == "ignored" and why in (found.reason or "")


def test_github_pull_requests_open_update_and_close_review_apps() -> None:
    opened = github("pull_request", github_pr("opened"))
    assert opened == Event(
        "review-open", "feature/x", SHA, "https://github.com/octo-org/tasks.git", 7
    )
    assert github("pull_request", github_pr("synchronize")).kind == "review-update"
    closed = github("pull_request", github_pr("closed"))
    assert (closed.kind, closed.number, closed.commit) == ("review-close", 7, None)
    fork = github("pull_request", github_pr("opened", head_repo="mallory/tasks"))
    assert fork.from_fork and fork.clone_url == "https://github.com/mallory/tasks.git"
    gone = github("pull_request", github_pr("synchronize", head_repo=None))  # a deleted fork
    assert gone.from_fork and gone.clone_url == URL


def gitlab_push(**changes: Any) -> bytes:
    data = {
        "object_kind": "push",
        "ref": "refs/heads/main",
        "checkout_sha": SHA,
        "after": SHA,
        "project": {"id": 15, "git_http_url": "https://gitlab.example.com/group/tasks.git"},
    }
    return body(data | changes)


def gitlab_mr(action: str, source_project: int = 15) -> bytes:
    attributes = {
        "iid": 3,
        "action": action,
        "source_branch": "fix",
        "target_branch": "main",
        "source_project_id": source_project,
        "target_project_id": 15,
        "last_commit": {"id": SHA},
        "source": {"git_http_url": "https://gitlab.example.com/group/tasks.git"},
    }
    return body({"object_kind": "merge_request", "object_attributes": attributes})


def test_gitlab_pushes_and_merge_requests() -> None:
    push = gitlab("Push Hook", gitlab_push())
    assert push == Event("push", "main", SHA, "https://gitlab.example.com/group/tasks.git")
    assert gitlab("Push Hook", gitlab_push(checkout_sha=None)).kind == "ignored"
    assert gitlab("Merge Request Hook", gitlab_mr("open")).kind == "review-open"
    assert gitlab("Merge Request Hook", gitlab_mr("update")).kind == "review-update"
    assert gitlab("Merge Request Hook", gitlab_mr("merge")).kind == "review-close"
    assert gitlab("Merge Request Hook", gitlab_mr("approved")).kind == "ignored"
    assert gitlab("Merge Request Hook", gitlab_mr("open", source_project=99)).from_fork
    assert gitlab("Tag Push Hook", b'{"object_kind": "tag_push"}').kind == "ignored"


@pytest.mark.parametrize(
    "payload",
    [
        b"payload=%7B%7D",  # GitHub's form encoding: Shipway asks for JSON
        b"\xff\xfe{}",
        b"[1, 2]",
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser goes
        b" " * (MAX_BODY + 1),
        github_push(after="not-a-sha"),
        github_push(after=SHA.upper()),
        github_push(repository={"clone_url": "file:///etc/passwd"}),
        github_push(repository={"clone_url": "https://example.com/a b.git"}),
        github_push(repository={"clone_url": "--upload-pack=touch /tmp/x"}),
        body({"action": "opened", "number": True, "pull_request": {}}),
    ],
)
def test_an_unreadable_delivery_is_a_bad_delivery(payload: bytes) -> None:
    event = "pull_request" if b'"number"' in payload else "push"
    with pytest.raises(BadDelivery) as raised:
        github(event, payload)
    assert "\n" not in str(raised.value)
