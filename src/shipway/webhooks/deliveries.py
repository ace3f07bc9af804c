"""The record of every webhook delivery for an app and what became of it (issue 13), so
an app's admins can answer "my webhook never arrived": received, rejected and why,
ignored and why, the deploy it started, the review app it made or removed.

A verified delivery claims its id (``dedupe``, unique per app and provider): a second
one with the same id, a replay or a provider's retry, finds it taken and is recorded as
a ``duplicate``. Only the newest ``KEEP`` records per app are kept, so a flood of
deliveries costs a bounded table. Reasons are one line, cut, and never carry a secret
(they are written by Shipway, never copied from a request)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipway.db.models import WebhookDelivery, utcnow

#: Records kept per app (the newest).
KEEP = 200
PROVIDERS = ("github", "gitlab", "generic")
#: What a provider's delivery id may look like (GitHub's and GitLab's are UUIDs).
DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
#: The outcomes a record can end with ("accepted": its fetch is still running).
OUTCOMES = (
    "accepted",
    "rejected",
    "ignored",
    "deployed",
    "review-deployed",
    "review-destroyed",
    "pong",
    "duplicate",
    "failed",
)


def delivery_id(header: str | None, fallback: str) -> str:
    """The provider's id if it looks like one, else ``fallback`` (the body's digest: a
    replayed body is then the same delivery)."""
    if header is not None and DELIVERY_ID.fullmatch(header.strip()):
        return header.strip()
    return fallback


def record(
    session: Session,
    app: str,
    provider: str,
    delivery: str,
    event: str,
    outcome: str,
    reason: str | None = None,
    received_at: datetime | None = None,
) -> WebhookDelivery:
    """A new record (not a claim: rejected and duplicate deliveries share ids)."""
    row = WebhookDelivery(
        app=app,
        provider=provider,
        delivery=delivery[:100],
        event=_line(event, 64) or "-",
        outcome=_outcome(outcome),
        reason=_line(reason, 300),
        received_at=received_at or utcnow(),
    )
    session.add(row)
    session.flush()
    _prune(session, app)
    return row


def claim(
    session: Session,
    app: str,
    provider: str,
    delivery: str,
    event: str,
    received_at: datetime | None = None,
) -> WebhookDelivery | None:
    """Record a verified delivery as ``accepted``, claiming its id; None if a delivery
    with this id was accepted before (record the replay with ``record``)."""
    row = WebhookDelivery(
        app=app,
        provider=provider,
        delivery=delivery[:100],
        dedupe=delivery[:100],
        event=_line(event, 64) or "-",
        outcome="accepted",
        received_at=received_at or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    _prune(session, app)
    return row


def finish(
    session: Session,
    record_id: int,
    outcome: str,
    reason: str | None = None,
    target: str | None = None,
    deploy_id: int | None = None,
    commit: str | None = None,
) -> None:
    """Say what became of an accepted delivery (a record pruned since is left alone)."""
    row = session.get(WebhookDelivery, record_id)
    if row is None:
        return
    row.outcome, row.reason = _outcome(outcome), _line(reason, 300)
    row.target, row.deploy_id, row.commit = target, deploy_id, commit


def interrupted(session: Session) -> int:
    """After a restart: deliveries whose work a previous process left unfinished end
    ``failed`` (their fetch ran in that process). How many."""
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.outcome == "accepted")
        .values(outcome="failed", reason="the server restarted before this delivery's work ended")
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def recent(session: Session, app: str, limit: int = 50) -> list[WebhookDelivery]:
    """The app's records, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.app == app)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def as_json(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "app": row.app,
        "provider": row.provider,
        "delivery": row.delivery,
        "event": row.event,
        "received_at": row.received_at.isoformat() + "Z",
        "outcome": row.outcome,
        "reason": row.reason,
        "target": row.target,
        "deploy": row.deploy_id,
        "commit": row.commit,
    }


def _prune(session: Session, app: str) -> None:
    newest = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.app == app)
        .order_by(WebhookDelivery.id.desc())
        .offset(KEEP)
        .limit(1)
    )
    cut = session.scalar(newest)
    if cut is not None:
        session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.app == app, WebhookDelivery.id <= cut)
        )


def _outcome(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown delivery outcome {outcome}")
    return outcome


def _line(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat[:limit]
