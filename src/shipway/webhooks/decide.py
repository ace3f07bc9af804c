"""What the server does with a delivery for an app, given the app's git settings: deploy
a pushed commit of its deploy branch, deploy or destroy a review app, answer a ping, or
nothing (with the reason, recorded with the delivery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shipway.reviewapps import name_for
from shipway.webhooks.events import Event

#: The branches deployed when the app names none (Heroku's: either of git's defaults).
DEFAULT_BRANCHES = ("main", "master")


@dataclass(frozen=True)
class HookSettings:
    #: The branch whose pushes deploy (None: main or master).
    branch: str | None = None
    review_apps: bool = False
    #: Review apps for requests from forks (they would receive the app's config vars).
    forks: bool = False


@dataclass(frozen=True)
class Action:
    kind: Literal["deploy", "review-deploy", "review-destroy", "pong", "ignore"]
    #: The app deployed or destroyed: the app itself, or its review app.
    app: str
    commit: str | None = None
    clone_url: str | None = None
    reason: str | None = None


def decide(app: str, settings: HookSettings, event: Event) -> Action:
    if event.kind == "ping":
        return Action("pong", app)
    if event.kind == "ignored":
        return Action("ignore", app, reason=event.reason)
    if event.kind == "push":
        return _push(app, settings, event)
    return _review(app, settings, event)


def _push(app: str, settings: HookSettings, event: Event) -> Action:
    wanted = (settings.branch,) if settings.branch else DEFAULT_BRANCHES
    if event.branch not in wanted:
        return Action("ignore", app, reason=f"a push to {event.branch}, not {wanted[0]}")
    return Action("deploy", app, event.commit, event.clone_url)


def _review(app: str, settings: HookSettings, event: Event) -> Action:
    assert event.number is not None
    review = name_for(app, event.number)
    if not settings.review_apps:
        return Action("ignore", app, reason="review apps are off for this app")
    if event.kind == "review-close":
        return Action("review-destroy", review)
    if event.from_fork and not settings.forks:
        return Action(
            "ignore",
            app,
            reason="the request comes from a fork: its review app would receive this app's "
            "config vars (an admin can allow forks for the app)",
        )
    return Action("review-deploy", review, event.commit, event.clone_url)
