"""Webhook delivery records: a verified delivery claims its id once (a replay is a
duplicate), records are one line, bounded per app, and go with their app; and where
each provider's headers say who signed, what happened and which delivery it is."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.db.models import WebhookDelivery
from shipway.webhooks import deliveries, providers
from shipway.webhooks.signatures import signature


@pytest.fixture(autouse=True)
def apps(session: Session) -> None:
    """Two apps of one team (``session`` is the unit tests' shared database)."""
    team = teams.create_team(session, "blue", accounts.create_user(session, "o@example.com"))
    teams.claim_app(session, "shop", team)
    teams.claim_app(session, "other", team)


def test_a_delivery_id_is_claimed_once_per_app_and_provider(session: Session) -> None:
    first = deliveries.claim(session, "shop", "github", "abc-1", "push")
    assert first is not None and first.outcome == "accepted"
    assert deliveries.claim(session, "shop", "github", "abc-1", "push") is None
    # Another provider's or another app's delivery of the same id is not a replay.
    assert deliveries.claim(session, "shop", "gitlab", "abc-1", "push") is not None
    assert deliveries.claim(session, "other", "github", "abc-1", "push") is not None
    # Rejected records never claim: a forged delivery cannot take a real one's id.
    deliveries.record(session, "shop", "github", "abc-2", "push", "rejected", "bad signature")
    assert deliveries.claim(session, "shop", "github", "abc-2", "push") is not None

    deliveries.finish(session, first.id, "deployed", None, "shop", 12, "a" * 40)
    shown = deliveries.as_json(deliveries.recent(session, "shop")[-1])
    assert shown["outcome"] == "deployed" and shown["deploy"] == 12 and shown["commit"] == "a" * 40


def test_records_are_one_line_and_bounded_per_app(session: Session) -> None:
    deliveries.record(session, "shop", "generic", "x", "push\r\nX: y", "ignored", "a\nb\x1b[31m")
    row = deliveries.recent(session, "shop")[0]
    assert row.event == "push  X: y" and row.reason == "a b [31m"
    for i in range(deliveries.KEEP + 5):
        deliveries.record(session, "shop", "github", f"d{i}", "push", "rejected", "wrong")
    deliveries.record(session, "other", "github", "o", "push", "pong")
    kept = deliveries.recent(session, "shop", limit=1000)
    assert len(kept) == deliveries.KEEP and kept[0].delivery == f"d{deliveries.KEEP + 4}"
    assert len(deliveries.recent(session, "other")) == 1
    with pytest.raises(ValueError, match="unknown delivery outcome"):
        deliveries.record(session, "shop", "github", "z", "push", "exploded")


def test_an_apps_records_go_with_it(session: Session) -> None:
    deliveries.record(session, "shop", "github", "x", "push", "pong")
    teams.release_app(session, "shop")
    session.flush()
    assert session.query(WebhookDelivery).filter_by(app="shop").count() == 0


def test_each_providers_headers() -> None:
    body = b'{"ref": "refs/heads/main"}'
    github = providers.PROVIDERS["github"]
    headers = {"x-hub-signature-256": signature("s3", body), "x-github-delivery": "d-1"}
    assert providers.verified(github, "s3", headers, body)
    assert not providers.verified(github, "s4", headers, body)
    assert providers.delivery_of(github, headers, body) == "d-1"
    gitlab = providers.PROVIDERS["gitlab"]
    assert providers.verified(gitlab, "s3", {"x-gitlab-token": "s3"}, body)
    assert not providers.verified(gitlab, "s3", {"x-gitlab-token": signature("s3", body)}, body)
    generic = providers.PROVIDERS["generic"]
    signed = {"x-shipway-signature-256": signature("s3", body)}
    assert providers.verified(generic, "s3", signed, body)
    assert providers.event_name(generic, {}) == "push"  # the generic hook's default
    # No id, or one that is not an id: the body's digest (a replayed body is a replay).
    odd = {"x-shipway-delivery": "a b\n"}
    assert providers.delivery_of(generic, odd, body) == providers.delivery_of(generic, {}, body)
    assert providers.delivery_of(generic, {}, body) != providers.delivery_of(generic, {}, b"{}")


def test_the_generic_hook_reads_githubs_push() -> None:
    generic = providers.PROVIDERS["generic"]
    body = b'{"ref": "refs/heads/main", "after": "' + b"b" * 40 + b'", '
    body += b'"repository": {"clone_url": "https://git.example.com/shop.git"}}'
    event = providers.parse(generic, {}, body)
    assert (event.kind, event.branch, event.commit) == ("push", "main", "b" * 40)
    assert event.clone_url == "https://git.example.com/shop.git"


def test_work_a_restart_cut_short_ends_failed(session: Session) -> None:
    running = deliveries.claim(session, "shop", "github", "r-1", "push")
    deliveries.record(session, "shop", "github", "r-2", "push", "pong")
    assert running is not None
    assert deliveries.interrupted(session) == 1
    session.refresh(running)
    assert running.outcome == "failed" and "restarted" in (running.reason or "")
