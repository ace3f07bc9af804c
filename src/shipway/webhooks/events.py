"""What a webhook delivery asks for, read from the provider's documented payload: a push
to a branch, a pull (merge) request opened, updated or closed, or GitHub's ``ping``.

Only the fields used are read, each checked for its type and shape; a delivery that is
not JSON, too large or too deep is a ``BadDelivery`` (a 4xx, recorded), and one Shipway
has nothing to do with (a tag, a deleted branch, a label added) is an ``ignored`` event
that says why."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from shipway.errors import ShipwayError
from shipway.gitrepos import COMMIT

#: The largest body read (GitHub caps its payloads at 25 MB; a push's is a few KB).
MAX_BODY = 5 * 1024 * 1024
#: A branch name Shipway deploys: git's rules, narrowed to what is safe everywhere.
BRANCH = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<![./])")
#: Where a commit may be fetched from: HTTP(S), SSH, or scp-like ``git@host:path``.
CLONE_URL = re.compile(
    r"(https?|ssh)://[^\s\x00-\x1f]{1,2000}|[\w.-]+@[\w.-]+:[^\s\x00-\x1f]{1,2000}"
)

Kind = Literal["push", "review-open", "review-update", "review-close", "ping", "ignored"]


@dataclass(frozen=True)
class Event:
    kind: Kind
    #: A push's branch, or a review's source branch.
    branch: str | None = None
    commit: str | None = None
    clone_url: str | None = None
    #: The pull or merge request's number.
    number: int | None = None
    #: Whether a review's source is another repository (it would get the parent's secrets).
    from_fork: bool = False
    #: Why an ``ignored`` event is.
    reason: str | None = None


class BadDelivery(ShipwayError):
    """The body is not a delivery Shipway can read."""


def ignored(reason: str) -> Event:
    return Event("ignored", reason=reason)


def github(event: str | None, body: bytes) -> Event:
    """A GitHub delivery (its ``X-GitHub-Event`` header and body)."""
    if event == "ping":
        return Event("ping")
    data = _json(body)
    if event == "push":
        if data.get("deleted") is True:
            return ignored("a branch was deleted")
        return _push(data.get("ref"), data.get("after"), _at(data, "repository", "clone_url"))
    if event == "pull_request":
        return _github_review(data)
    return ignored(f"'{_short(event)}' events deploy nothing")


def gitlab(event: str | None, body: bytes) -> Event:
    """A GitLab delivery (its ``X-Gitlab-Event`` header and body)."""
    data = _json(body)
    kind = data.get("object_kind")
    if kind == "push":
        if data.get("checkout_sha") is None:
            return ignored("a branch was deleted")
        sha, url = data.get("checkout_sha"), _at(data, "project", "git_http_url")
        return _push(data.get("ref"), sha, url)
    if kind == "merge_request":
        return _gitlab_review(data)
    return ignored(f"'{_short(event or kind)}' events deploy nothing")


_GITHUB_ACTIONS: dict[str, Kind] = {
    "opened": "review-open",
    "reopened": "review-open",
    "synchronize": "review-update",
    "closed": "review-close",
}
_GITLAB_ACTIONS: dict[str, Kind] = {
    "open": "review-open",
    "reopen": "review-open",
    "update": "review-update",
    "close": "review-close",
    "merge": "review-close",
}


def _github_review(data: dict[str, Any]) -> Event:
    action = data.get("action")
    kind = _GITHUB_ACTIONS.get(action) if isinstance(action, str) else None
    if kind is None:
        return ignored(f"pull request '{_short(action)}' changes no code")
    head = _at(data, "pull_request", "head")
    source = _at(head, "repo", "full_name")
    fork = source is None or source != _at(data, "pull_request", "base", "repo", "full_name")
    url = _at(head, "repo", "clone_url") or _at(data, "repository", "clone_url")
    return _review(kind, data.get("number"), _at(head, "ref"), _at(head, "sha"), url, fork)


def _gitlab_review(data: dict[str, Any]) -> Event:
    attributes = _at(data, "object_attributes")
    action = _at(attributes, "action")
    kind = _GITLAB_ACTIONS.get(action) if isinstance(action, str) else None
    if kind is None:
        return ignored(f"merge request '{_short(action)}' changes no code")
    source, target = _at(attributes, "source_project_id"), _at(attributes, "target_project_id")
    fork = source is None or source != target
    return _review(
        kind,
        _at(attributes, "iid"),
        _at(attributes, "source_branch"),
        _at(attributes, "last_commit", "id"),
        _at(attributes, "source", "git_http_url"),
        fork,
    )


def _push(ref: Any, commit: Any, url: Any) -> Event:
    if not isinstance(ref, str) or not ref.startswith("refs/heads/"):
        return ignored("not a branch (a tag, or no ref)")
    branch = ref.removeprefix("refs/heads/")
    if not BRANCH.fullmatch(branch):
        return ignored("a branch name Shipway does not deploy (odd characters)")
    return Event("push", branch, _commit(commit), _url(url))


def _review(kind: Kind, number: Any, branch: Any, commit: Any, url: Any, fork: bool) -> Event:
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 10**9:
        raise BadDelivery("the request's number is missing or not a positive integer")
    if not isinstance(branch, str) or not BRANCH.fullmatch(branch):
        return ignored("a branch name Shipway does not deploy (odd characters)")
    if kind == "review-close":  # nothing is fetched for a close
        return Event(kind, branch, None, None, number, fork)
    return Event(kind, branch, _commit(commit), _url(url), number, fork)


def _commit(value: Any) -> str:
    if not isinstance(value, str) or not COMMIT.fullmatch(value):
        raise BadDelivery("the commit is missing or not a hexadecimal object name")
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not CLONE_URL.fullmatch(value):
        raise BadDelivery("the repository's clone URL is missing or not HTTP(S) or SSH")
    return value


def _json(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise BadDelivery(f"the body is larger than {MAX_BODY // 1024 // 1024} MiB")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise BadDelivery("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadDelivery("the body is not a JSON object")
    return data


def _at(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return "".join(c if c.isprintable() else "?" for c in text[:40])
