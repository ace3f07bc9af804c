"""An app's git settings on the server (issue 13): the branch whose pushes deploy, the
app's directory in the repository (a monorepo's), review apps, and the upstream
repository webhooks fetch commits from. Reading them is ``read``; changing them is
``manage-app`` (review apps for forks hand the app's config vars to strangers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy.orm import Session

from shipway import teams
from shipway.access import Action, Actor
from shipway.db.models import AppGit
from shipway.errors import ShipwayError, excerpt
from shipway.gitrepos import check_subdir
from shipway.webhooks.decide import DEFAULT_BRANCHES, HookSettings
from shipway.webhooks.events import BRANCH, CLONE_URL


class GitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: None: main or master.
    branch: str | None = None
    subdir: str = ""
    review_apps: bool = False
    forks: bool = False
    upstream: str | None = None

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and not BRANCH.fullmatch(value):
            raise ValueError(f"'{excerpt(value)}' is not a branch name git accepts here")
        return value

    @field_validator("subdir")
    @classmethod
    def _subdir(cls, value: str) -> str:
        try:
            return check_subdir(value)
        except ShipwayError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str | None) -> str | None:
        if value is not None and not CLONE_URL.fullmatch(value):
            raise ValueError("give an https:// or ssh:// repository URL")
        return value

    @property
    def branches(self) -> tuple[str, ...]:
        """The branches whose pushes deploy."""
        return (self.branch,) if self.branch else DEFAULT_BRANCHES

    def hook(self) -> HookSettings:
        return HookSettings(self.branch, self.review_apps, self.forks)


def of(session: Session, app: str) -> GitSettings:
    row = session.get(AppGit, app)
    if row is None:
        return GitSettings()
    return GitSettings(
        branch=row.branch,
        subdir=row.subdir,
        review_apps=row.review_apps,
        forks=row.forks,
        upstream=row.upstream,
    )


def read(session: Session, actor: Actor, app: str) -> GitSettings:
    teams.app_for(session, actor, app, Action.READ)
    return of(session, app)


def change(session: Session, actor: Actor, app: str, changes: dict[str, Any]) -> GitSettings:
    """Apply ``changes`` (field → value; a None branch or upstream is the default)."""
    owner = teams.app_for(session, actor, app, Action.MANAGE_APP)
    unknown = set(changes) - set(GitSettings.model_fields)
    if unknown:
        raise ShipwayError(f"git settings: unknown setting {sorted(unknown)[0][:40]}")
    try:
        updated = GitSettings.model_validate(of(session, app).model_dump() | changes)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        said = problem["msg"].removeprefix("Value error, ")
        raise ShipwayError(f"git settings: {field}: {excerpt(said, 160)}") from None
    row = session.get(AppGit, app) or AppGit(app=app)
    for name, value in updated.model_dump().items():
        setattr(row, name, value)
    session.add(row)
    teams.audit(session, actor, "git:settings", owner.team_id, app, changed=sorted(changes))
    return updated
