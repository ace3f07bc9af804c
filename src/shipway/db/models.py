"""The server's tables. The cluster stays the source of truth for what runs and for app
settings (releases, config vars, addons); these hold users, teams and tokens, which team
owns which app, deploys with their steps and logs, and the audit log.

Times are UTC, stored naive (SQLite keeps no zone); ``utcnow`` is the one clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: argon2id; None until the user sets one (a user made by an admin or ``server init``
    #: signs in with a token until then).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[int] = mapped_column(Integer)  # access.Role


class Token(Base):
    """An API token: only its SHA-256 is kept (tokens are random, so no slow hash is
    needed); ``prefix`` is what lists show, enough to recognise it."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Invite(Base):
    """A one-time, expiring link that makes its holder a member of a team."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    role: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class App(Base):
    """Which team owns an app. App names are cluster-wide (an app's namespace is its
    name), so the name is the key."""

    __tablename__ = "apps"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Deploy(Base):
    __tablename__ = "deploys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(63), index=True)
    #: queued, started, finished, failed, aborted
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: upload, git, webhook: a watched deploy (upload, git) is never superseded.
    source: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    release: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(500))
    commit: Mapped[str | None] = mapped_column(String(64))
    #: Whether the deploy got as far as changing the cluster: a deploy cut short after
    #: that (a server restart) rolls the app back.
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class DeployStep(Base):
    __tablename__ = "deploy_steps"

    deploy_id: Mapped[int] = mapped_column(
        ForeignKey("deploys.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending, started, finished, failed, aborted
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class DeployEvent(Base):
    """A deploy's event stream as it happened (step changes, log lines, the end): what a
    server-sent-events subscriber replays from its ``Last-Event-ID``."""

    __tablename__ = "deploy_events"

    deploy_id: Mapped[int] = mapped_column(
        ForeignKey("deploys.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # step, log, end
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed what, when, from where. ``detail`` never holds a secret value: config
    changes list the names set and unset."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_team_at", "team_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(Integer)
    app: Mapped[str | None] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class LoginFailure(Base):
    """Failed sign-ins per key (an email, an address) in the current window: shared by
    every replica, so the limit holds however requests are spread."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AppGit(Base):
    """An app's git settings (issue 13): which branch deploys, where the app is in the
    repository, review apps, and the upstream repository webhooks fetch from. An app
    without a row has the defaults. The webhook secret and the deploy credential are
    not here: they are Secrets in the app's namespace."""

    __tablename__ = "app_git"

    app: Mapped[str] = mapped_column(ForeignKey("apps.name", ondelete="CASCADE"), primary_key=True)
    #: None: main or master.
    branch: Mapped[str | None] = mapped_column(String(200))
    subdir: Mapped[str] = mapped_column(String(500), default="")
    review_apps: Mapped[bool] = mapped_column(Boolean, default=False)
    forks: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The repository a webhook's commit is fetched from (https:// or ssh://); None: the
    #: clone URL the delivery names.
    upstream: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(Base):
    """A webhook delivery for an app (issue 13), whatever became of it: so "my webhook
    never arrived" has an answer. ``reason`` is one line and never a secret. Only the
    newest few hundred per app are kept (``webhooks.deliveries.KEEP``)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_app_id", "app", "id"),
        # Set only on a verified delivery: a second one with the same id is a replay.
        UniqueConstraint("app", "provider", "dedupe", name="uq_webhook_deliveries_dedupe"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(ForeignKey("apps.name", ondelete="CASCADE"))
    #: github, gitlab, generic
    provider: Mapped[str] = mapped_column(String(16))
    #: The provider's delivery id (X-GitHub-Delivery, X-Gitlab-Event-UUID, …).
    delivery: Mapped[str] = mapped_column(String(100))
    dedupe: Mapped[str | None] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: accepted (being fetched), rejected, ignored, deployed, review-deployed,
    #: review-destroyed, pong, duplicate, failed
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300))
    #: The app deployed or destroyed (the app itself, or one of its review apps).
    target: Mapped[str | None] = mapped_column(String(63))
    deploy_id: Mapped[int | None] = mapped_column(Integer)
    commit: Mapped[str | None] = mapped_column(String(64))
