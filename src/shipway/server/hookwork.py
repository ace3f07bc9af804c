"""What a verified webhook delivery makes the server do once it has answered (issue 13):
fetch the commit into the app's cache repository, take its files out, and queue a deploy
of the app or of its review app (made first if missing: owned by the parent's team,
with the parent's config vars); or destroy a review app with its data. Runs in threads
of its own (a few at a time), so the provider's request never waits on git; the
delivery's record says how it ended."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from shipway import appstate, teams
from shipway.access import Actor
from shipway.db.models import App, Team
from shipway.errors import ShipwayError
from shipway.gitsettings import GitSettings
from shipway.ops.apps import Removal
from shipway.ops.lifecycle import NewApp
from shipway.ops.table import VERBS, Call
from shipway.server.routes.deploys import Deploys
from shipway.server.state import Server
from shipway.webhooks import deliveries, fetch, keys
from shipway.webhooks.decide import Action

log = logging.getLogger("shipway.server")


@dataclass(frozen=True)
class Work:
    """One accepted delivery's job."""

    record: int
    provider: str
    parent: str
    action: Action
    branch: str | None
    settings: GitSettings
    received_at: datetime

    @property
    def actor(self) -> Actor:
        # Who the audit log and the releases name: the hook, not a user.
        return Actor(email=f"webhook:{self.provider}", address=f"webhook:{self.provider}")


#: Deliveries worked on at once (fetches, review apps made or destroyed); more wait
#: their turn, their records ``accepted`` meanwhile. Deploys then queue as any other.
WORKERS = 4
_turns = threading.BoundedSemaphore(WORKERS)


def start(deploys: Deploys, work: Work) -> None:
    """Hand the work to a thread (returns at once). Daemon threads: a server that stops
    does not wait on a fetch; its next start records the delivery as cut short."""
    name = f"webhook {work.parent} {work.record}"
    threading.Thread(target=_in_turn, args=(deploys, work), name=name, daemon=True).start()


def _in_turn(deploys: Deploys, work: Work) -> None:
    with _turns:
        run(deploys, work)


def run(deploys: Deploys, work: Work) -> None:
    """Do the delivery's work and record how it ended (never raises)."""
    srv = deploys.srv
    try:
        if work.action.kind == "review-destroy":
            outcome, reason = _destroy_review(srv, work)
            _finish(srv, work, outcome, reason)
            return
        deploy_id = _deploy(deploys, work)
        outcome = "deployed" if work.action.kind == "deploy" else "review-deployed"
        _finish(srv, work, outcome, None, deploy_id)
    except ShipwayError as exc:
        _finish(srv, work, "failed", str(exc))
    except Exception:  # a bug: the trace to the server's log, one line to the record
        log.exception("webhook delivery %s of %s", work.record, work.parent)
        _finish(srv, work, "failed", "internal error (the server's log has the details)")


def _deploy(deploys: Deploys, work: Work) -> int:
    srv, action = deploys.srv, work.action
    assert action.commit is not None
    url = work.settings.upstream or action.clone_url
    if url is None:
        raise ShipwayError("the delivery names no repository and the app has no upstream")
    found = keys.read(srv.client, work.parent)
    repo = fetch.fetch(
        srv.upstream_root, work.parent, url, action.commit, work.branch, found.token, found.user
    )
    if action.kind == "review-deploy":
        _ensure_review(srv, work)
    with srv.session() as session:
        owner = session.get(App, action.app)
        team_id = owner.team_id if owner else None
    return deploys.submit_commit(
        action.app, "webhook", action.commit, repo, work.settings.subdir, work.actor, team_id,
        work.received_at, delivery=work.record,
    )  # fmt: skip


def _ensure_review(srv: Server, work: Work) -> None:
    """The review app, made if missing (as ``POST /apps`` makes an app: the name claimed
    for the parent's team, then its namespace), with the parent's config vars."""
    review = work.action.app
    with srv.session() as session:
        parent = session.get(App, work.parent)
        existing = session.get(App, review)
        if parent is None:
            raise ShipwayError(f"{work.parent} was deleted meanwhile")
        if existing is not None and existing.team_id != parent.team_id:
            raise ShipwayError(f"the name {review} is taken by an app of another team")
        team_id, made = parent.team_id, existing is None
        team = session.get(Team, team_id)
        if made and team is not None:
            teams.claim_app(session, review, team)
    call = Call(target=srv.target, actor=work.actor)
    if made:
        try:
            VERBS["create"].run(call, review, NewApp())
        except BaseException:
            with srv.session() as session:
                teams.release_app(session, review)
            raise
        with srv.session() as session:
            teams.audit(session, work.actor, "create", team_id, review, review_of=work.parent)
    # The parent's config vars, copied on each deploy (the values never leave the
    # cluster: read from one Secret, written to the other).
    parent_config = appstate.config_vars(srv.client, work.parent, work.parent)
    appstate.save_config_vars(srv.client, review, review, parent_config)


def _destroy_review(srv: Server, work: Work) -> tuple[str, str | None]:
    review = work.action.app
    with srv.session() as session:
        parent, existing = session.get(App, work.parent), session.get(App, review)
        if existing is None or parent is None or existing.team_id != parent.team_id:
            return "ignored", f"no review app {review} to destroy"
        team_id = parent.team_id
    call = Call(target=srv.target, actor=work.actor)
    with srv.app_lock(review):  # after a deploy of it that is running
        VERBS["destroy"].run(call, review, Removal(keep_data=False))
    srv.free_name(review)
    with srv.session() as session:
        teams.audit(session, work.actor, "destroy", team_id, review, review_of=work.parent)
    return "review-destroyed", None


def _finish(
    srv: Server, work: Work, outcome: str, reason: str | None, deploy_id: int | None = None
) -> None:
    try:
        with srv.session() as session:
            deliveries.finish(
                session, work.record, outcome, reason, work.action.app, deploy_id,
                work.action.commit,
            )  # fmt: skip
    except Exception:
        log.exception("recording webhook delivery %s", work.record)
