"""An app's git settings: defaults, validation, who may read and change them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shipway import accounts, gitsettings, teams
from shipway.access import Actor, Role
from shipway.db.models import AuditEntry
from shipway.errors import Denied, NotFound, ShipwayError


def _actor(session: Session, email: str, team_id: int, role: Role) -> Actor:
    user = accounts.create_user(session, email)
    return Actor(email=user.email, user_id=user.id, roles={team_id: role})


def test_defaults_changes_and_who_may(session: Session) -> None:
    owner = accounts.create_user(session, "o@example.com")
    team = teams.create_team(session, "blue", owner)
    teams.claim_app(session, "shop", team)
    admin = _actor(session, "a@example.com", team.id, Role.ADMIN)
    member = _actor(session, "m@example.com", team.id, Role.MEMBER)
    stranger = _actor(session, "s@example.com", team.id + 1, Role.OWNER)

    assert gitsettings.read(session, member, "shop") == gitsettings.GitSettings()
    assert gitsettings.GitSettings().branches == ("main", "master")
    changed = gitsettings.change(
        session, admin, "shop", {"branch": "release", "subdir": "/services/api/"}
    )
    assert changed.branches == ("release",) and changed.subdir == "services/api"
    changed = gitsettings.change(session, admin, "shop", {"review_apps": True})
    assert gitsettings.of(session, "shop") == changed
    assert changed.branch == "release" and changed.hook().review_apps
    assert session.query(AuditEntry).filter_by(action="git:settings").count() == 2

    with pytest.raises(Denied):
        gitsettings.change(session, member, "shop", {"forks": True})
    with pytest.raises(NotFound):
        gitsettings.read(session, stranger, "shop")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"branch": "-x"}, "branch name"),
        ({"branch": "a..b"}, "branch name"),
        ({"subdir": "../up"}, "relative path"),
        ({"upstream": "file:///etc"}, "https://"),
        ({"upstream": "--upload-pack=sh"}, "https://"),
        ({"colour": "red"}, "unknown setting colour"),
    ],
)
def test_bad_settings_are_refused(session: Session, changes: dict[str, str], message: str) -> None:
    owner = accounts.create_user(session, "o@example.com")
    team = teams.create_team(session, "blue", owner)
    teams.claim_app(session, "shop", team)
    admin = _actor(session, "a@example.com", team.id, Role.ADMIN)
    with pytest.raises(ShipwayError, match=message):
        gitsettings.change(session, admin, "shop", changes)
    assert gitsettings.of(session, "shop") == gitsettings.GitSettings()
