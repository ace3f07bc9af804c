"""A deploy's record in the database: the deploy, its ordered steps with their timings,
and its event stream (step changes, log lines, the end) numbered per deploy, which a
server-sent-events subscriber replays from any point.

Every function here takes a session and does one short piece of work: the caller keeps
the transaction short, so SQLite's one writer is never held while something builds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipway.db.models import Deploy, DeployEvent, DeployStep, utcnow
from shipway.errors import NotFound

#: A deploy's steps, in order.
STEPS = ("receive", "detect", "build", "push", "addons", "apply", "rollout", "release")
#: The first step that changes the cluster: a deploy cut short after it started is
#: rolled back when the server starts again.
CHANGES_CLUSTER = "addons"
ENDED = ("finished", "failed", "aborted")
WAITING, RUNNING = "queued", "started"


def create(
    session: Session,
    app: str,
    source: str,
    by: str,
    commit: str | None = None,
    received_at: datetime | None = None,
) -> Deploy:
    """A queued deploy whose source is received (its first step done)."""
    now = utcnow()
    deploy = Deploy(app=app, status=WAITING, source=source, by=by, commit=commit, created_at=now)
    session.add(deploy)
    session.flush()
    for position, name in enumerate(STEPS):
        received = name == "receive"
        session.add(
            DeployStep(
                deploy_id=deploy.id,
                position=position,
                name=name,
                status="finished" if received else "pending",
                started_at=(received_at or now) if received else None,
                finished_at=now if received else None,
            )
        )
    append(session, deploy.id, "step", {"step": "receive", "status": "finished"})
    return deploy


def append(session: Session, deploy_id: int, kind: str, data: dict[str, Any]) -> int:
    """Add an event to the deploy's stream; its sequence number (1, 2, …)."""
    last = session.scalar(
        select(func.max(DeployEvent.seq)).where(DeployEvent.deploy_id == deploy_id)
    )
    seq = (last or 0) + 1
    session.add(DeployEvent(deploy_id=deploy_id, seq=seq, kind=kind, data=data))
    session.flush()
    return seq


def steps(session: Session, deploy_id: int) -> list[DeployStep]:
    return list(
        session.scalars(
            select(DeployStep)
            .where(DeployStep.deploy_id == deploy_id)
            .order_by(DeployStep.position)
        )
    )


def advance(session: Session, deploy_id: int, name: str, now: datetime | None = None) -> bool:
    """Start step ``name`` (at ``now``, default: now): the step running ends
    ``finished``, steps passed over end ``finished`` without timings. False (nothing
    done) for a step not after the current one (a rollback after a failure goes through
    the release steps again)."""
    if name not in STEPS:
        return False
    rows = steps(session, deploy_id)
    wanted = STEPS.index(name)
    started = [s for s in rows if s.status != "pending"]
    if started and started[-1].position >= wanted:
        return False
    now = now or utcnow()
    for step in rows[:wanted]:
        if step.status == "started":
            step.status, step.finished_at = "finished", now
            append(session, deploy_id, "step", _step_data(step))
        elif step.status == "pending":
            step.status = "finished"
    rows[wanted].status, rows[wanted].started_at = "started", now
    append(session, deploy_id, "step", _step_data(rows[wanted]))
    if name == CHANGES_CLUSTER:
        deploy = session.get(Deploy, deploy_id)
        if deploy is not None:
            deploy.applied = True
    return True


def end(
    session: Session, deploy: Deploy, status: str, reason: str | None, result: dict[str, Any]
) -> None:
    """End the deploy ``status`` (finished, failed or aborted): its steps end with it, and
    the stream's last event, ``end``, carries the outcome."""
    deploy.status, deploy.reason, deploy.finished_at = status, reason, utcnow()
    if "release" in result:
        deploy.release = result["release"]
    if "url" in result:
        deploy.url = result["url"]
    close_steps(session, deploy.id, status)
    append(session, deploy.id, "end", {"status": status, "reason": reason, **result})


def close_steps(session: Session, deploy_id: int, status: str) -> None:
    """The deploy's unfinished steps end with it: the one running as the deploy did
    (aborted for an abort), the ones not reached finished (passed over) or aborted."""
    now = utcnow()
    for step in steps(session, deploy_id):
        if step.status == "started":
            step.status = {"finished": "finished", "failed": "failed"}.get(status, "aborted")
            step.finished_at = now
            append(session, deploy_id, "step", _step_data(step))
        elif step.status == "pending":
            step.status = "finished" if status == "finished" else "aborted"


def _step_data(step: DeployStep) -> dict[str, Any]:
    data: dict[str, Any] = {"step": step.name, "status": step.status}
    if (took := seconds(step)) is not None:
        data["seconds"] = took
    return data


def seconds(step: DeployStep) -> float | None:
    """How long the step took, once it has ended."""
    if step.started_at and step.finished_at:
        return round((step.finished_at - step.started_at).total_seconds(), 3)
    return None


def get(session: Session, deploy_id: int) -> Deploy:
    deploy = session.get(Deploy, deploy_id)
    if deploy is None:
        raise NotFound(f"no deploy {deploy_id}")
    return deploy


def of_app(session: Session, app: str, limit: int = 50) -> list[Deploy]:
    return list(
        session.scalars(
            select(Deploy).where(Deploy.app == app).order_by(Deploy.id.desc()).limit(limit)
        )
    )


def latest_of(session: Session, apps: list[str]) -> dict[str, Deploy]:
    """Each app's newest deploy (apps never deployed are absent)."""
    newest = select(func.max(Deploy.id)).where(Deploy.app.in_(apps)).group_by(Deploy.app).subquery()
    found = session.scalars(select(Deploy).where(Deploy.id.in_(select(newest))))
    return {deploy.app: deploy for deploy in found}


def events_after(session: Session, deploy_id: int, seq: int, limit: int = 500) -> list[DeployEvent]:
    return list(
        session.scalars(
            select(DeployEvent)
            .where(DeployEvent.deploy_id == deploy_id, DeployEvent.seq > seq)
            .order_by(DeployEvent.seq)
            .limit(limit)
        )
    )


def waiting(session: Session) -> int:
    return session.scalar(select(func.count()).where(Deploy.status == WAITING)) or 0


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def as_json(deploy: Deploy, with_steps: list[DeployStep] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": deploy.id,
        "app": deploy.app,
        "status": deploy.status,
        "source": deploy.source,
        "by": deploy.by,
        "reason": deploy.reason,
        "release": deploy.release,
        "url": deploy.url,
        "commit": deploy.commit,
        "created_at": _time(deploy.created_at),
        "started_at": _time(deploy.started_at),
        "finished_at": _time(deploy.finished_at),
    }
    if with_steps is not None:
        data["steps"] = [
            {
                "name": s.name,
                "status": s.status,
                "started_at": _time(s.started_at),
                "finished_at": _time(s.finished_at),
                "seconds": seconds(s),
            }
            for s in with_steps
        ]
    return data
