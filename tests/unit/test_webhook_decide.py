"""What a delivery makes the server do, for each kind of event and app setting."""

from __future__ import annotations

from shipway.webhooks.decide import Action, HookSettings, decide
from shipway.webhooks.events import Event

SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
URL = "https://github.com/octo-org/tasks.git"
REVIEWS = HookSettings(review_apps=True)


def push(branch: str) -> Event:
    return Event("push", branch, SHA, URL)


def review(kind: str, fork: bool = False) -> Event:
    return Event(kind, "feature", SHA if kind != "review-close" else None, URL, 7, fork)  # type: ignore[arg-type]


def test_pushes_deploy_only_the_deploy_branch() -> None:
    assert decide("tasks", HookSettings(), push("main")) == Action("deploy", "tasks", SHA, URL)
    assert decide("tasks", HookSettings(), push("master")).kind == "deploy"
    ignored = decide("tasks", HookSettings(), push("feature"))
    assert ignored.kind == "ignore" and ignored.reason == "a push to feature, not main"
    assert decide("tasks", HookSettings(branch="prod"), push("prod")).kind == "deploy"
    assert decide("tasks", HookSettings(branch="prod"), push("main")).kind == "ignore"


def test_reviews_make_and_remove_review_apps_when_enabled() -> None:
    assert decide("tasks", REVIEWS, review("review-open")) == Action(
        "review-deploy", "tasks-pr-7", SHA, URL
    )
    assert decide("tasks", REVIEWS, review("review-update")).kind == "review-deploy"
    assert decide("tasks", REVIEWS, review("review-close")) == Action(
        "review-destroy", "tasks-pr-7"
    )
    off = decide("tasks", HookSettings(), review("review-open"))
    assert off.kind == "ignore" and off.reason == "review apps are off for this app"


def test_forks_get_no_review_app_unless_allowed() -> None:
    refused = decide("tasks", REVIEWS, review("review-open", fork=True))
    assert refused.kind == "ignore" and "fork" in (refused.reason or "")
    allowed = HookSettings(review_apps=True, forks=True)
    assert decide("tasks", allowed, review("review-open", fork=True)).kind == "review-deploy"
    # Closing is always allowed: it only removes what may exist.
    assert decide("tasks", REVIEWS, review("review-close", fork=True)).kind == "review-destroy"


def test_pings_and_ignored_events_pass_through() -> None:
    assert decide("tasks", HookSettings(), Event("ping")) == Action("pong", "tasks")
    said = decide("tasks", HookSettings(), Event("ignored", reason="a tag"))
    assert said == Action("ignore", "tasks", reason="a tag")
