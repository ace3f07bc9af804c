"""Issue 12: the permission table, actors, and the account helpers (on a SQLite file
brought up by the real migrations)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.access import PERMISSIONS, Action, Actor, Role, local_actor
from shipway.db.models import LoginFailure, Token, utcnow
from shipway.errors import Busy, Conflict, Denied, NotFound, ShipwayError, Unauthenticated

#: The issue's written table: the least role of each action.
WRITTEN = {
    Action.READ: "viewer",
    Action.READ_CONFIG: "member",
    Action.DEPLOY: "member",
    Action.MANAGE_APP: "admin",
    Action.MANAGE_MEMBERS: "admin",
    Action.MANAGE_TEAM: "owner",
}


def test_the_permission_table_is_the_written_one() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert {action: role.label for action, role in PERMISSIONS.items()} == WRITTEN


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_a_role_may_what_its_rank_allows_in_its_own_team_only(role: Role, action: Action) -> None:
    actor = Actor(email="a@example.com", user_id=1, roles={7: role})
    assert actor.may(action, 7) is (role >= PERMISSIONS[action])
    assert actor.may(action, 8) is False
    assert actor.sees(7) and not actor.sees(8)


def test_viewers_never_read_config_values_and_site_admins_get_no_team_rights() -> None:
    viewer = Actor(email="v@example.com", roles={1: Role.VIEWER})
    assert viewer.may(Action.READ, 1) and not viewer.may(Action.READ_CONFIG, 1)
    admin = Actor(email="s@example.com", site_admin=True)
    assert not any(admin.may(action, 1) for action in Action) and not admin.sees(1)
    local = local_actor()
    assert all(local.may(action, 99) for action in Action) and local.sees(99)


def test_roles_are_named_and_ordered() -> None:
    assert [Role.named(n) for n in ("viewer", "Member", "ADMIN", "owner")] == sorted(Role)
    with pytest.raises(ValueError, match="unknown role 'god'; use one of viewer, member"):
        Role.named("god")


def test_secrets_are_random_recognisable_and_kept_as_sha256() -> None:
    first, second = accounts.new_secret(), accounts.new_secret()
    assert first != second and first.startswith("shp_") and len(first) == 47
    assert accounts.digest(first) == hashlib.sha256(first.encode()).hexdigest()


@pytest.mark.parametrize(
    ("given", "kept"),
    [(" Ann@Example.COM ", "ann@example.com"), ("a.b+c@sub.example.org", "a.b+c@sub.example.org")],
)
def test_emails_are_normalised(given: str, kept: str) -> None:
    assert accounts.check_email(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no-at",
        "a@b",
        "a b@example.com",
        "a@example.com\nx",
        "@example.com",
        "a" * 250 + "@e.com",
    ],
)
def test_bad_emails_are_one_line_errors(bad: str) -> None:
    with pytest.raises(ShipwayError, match="is not an email address") as caught:
        accounts.check_email(bad)
    assert "\n" not in str(caught.value)


def test_password_length_expiry_and_times() -> None:
    assert accounts.check_password("x" * 10) == "x" * 10
    for bad in ("x" * 9, "x" * 1025):
        with pytest.raises(ShipwayError, match="10 to 1024"):
            accounts.check_password(bad)
    assert accounts.expiry(None) is None and accounts.expiry(3) == timedelta(days=3)
    for bad_days in (0, -1, 3651):
        with pytest.raises(ShipwayError, match="1 to 3650"):
            accounts.expiry(bad_days)
    assert accounts.when(None) is None
    assert (
        accounts.when(utcnow().replace(year=2026, month=1, day=2, hour=3, minute=4, second=5))
        == "2026-01-02T03:04:05Z"
    )


def test_server_init_makes_one_site_admin_with_a_token(session: Session) -> None:
    user, token = accounts.init_server(session, "Admin@Example.com")
    assert user.site_admin and user.email == "admin@example.com" and user.password_hash is None
    assert accounts.user_of_token(session, token).id == user.id
    with pytest.raises(Conflict, match="already has users"):
        accounts.init_server(session, "other@example.com")


def test_tokens_stored_as_digests_and_refused_alike_when_revoked_expired_or_unknown(
    session: Session,
) -> None:
    user = accounts.create_user(session, "t@example.com")
    secret = accounts.create_token(session, user, "ci", timedelta(days=1))
    row = session.scalars(select(Token)).one()
    assert row.prefix == secret[:12] and row.digest == accounts.digest(secret)
    assert secret not in (row.name, row.prefix, row.digest)
    assert accounts.user_of_token(session, secret).email == "t@example.com"
    assert row.last_used_at is not None

    messages = set()
    for fault in ("unknown", "malformed", "expired", "revoked"):
        candidate = secret
        if fault == "unknown":
            candidate = accounts.new_secret()
        elif fault == "malformed":
            candidate = "shp_short"
        elif fault == "expired":
            row.expires_at = utcnow() - timedelta(seconds=1)
        else:
            row.expires_at = None
            accounts.revoke_token(session, user, row.id)
        with pytest.raises(Unauthenticated) as caught:
            accounts.user_of_token(session, candidate)
        messages.add(str(caught.value))
    assert len(messages) == 1  # none tells an attacker more than another

    other = accounts.create_user(session, "o@example.com")
    with pytest.raises(NotFound):
        accounts.revoke_token(session, other, row.id)
    for bad_name in ("", " ", "x" * 101, "tab\there"):
        with pytest.raises(ShipwayError, match="name"):
            accounts.create_token(session, user, bad_name)


def test_sign_in_and_its_rate_limit(session: Session) -> None:
    user = accounts.create_user(session, "s@example.com")
    with pytest.raises(Unauthenticated, match="wrong email or password"):
        accounts.sign_in(session, "s@example.com", "no password is set", "10.0.0.2")
    accounts.set_password(user, "a good passphrase")
    assert user.password_hash and "a good passphrase" not in user.password_hash
    assert accounts.sign_in(session, " S@example.com", "a good passphrase", "10.0.0.1") is user
    for _ in range(4):  # five failures in all
        with pytest.raises(Unauthenticated):
            accounts.sign_in(session, "s@example.com", "wrong", "10.0.0.2")
    with pytest.raises(Busy, match="too many failed sign-ins"):
        accounts.sign_in(session, "s@example.com", "a good passphrase", "10.0.0.3")  # by email
    with pytest.raises(Busy):
        accounts.sign_in(session, "nobody@example.com", "x", "10.0.0.2")  # by address
    with pytest.raises(Unauthenticated):  # another email, another address: counted apart
        accounts.sign_in(session, "nobody@example.com", "x", "10.0.0.9")
    for row in session.scalars(select(LoginFailure)):
        row.window_start -= accounts.LOGIN_WINDOW  # the window passes
    assert accounts.sign_in(session, "s@example.com", "a good passphrase", "10.0.0.2") is user


def test_actors_carry_their_roles_and_teams_keep_an_owner(session: Session) -> None:
    owner = accounts.create_user(session, "owner@example.com")
    admin = accounts.create_user(session, "admin@example.com")
    team = teams.create_team(session, "crew", owner)
    owner_actor = accounts.actor_of(session, owner, "10.0.0.1")
    teams.set_member(session, owner_actor, team, "admin@example.com", Role.ADMIN)
    session.flush()
    admin_actor = accounts.actor_of(session, admin, "10.0.0.2")
    assert admin_actor.roles == {team.id: Role.ADMIN} and admin_actor.address == "10.0.0.2"
    with pytest.raises(Denied):
        teams.set_member(session, admin_actor, team, "admin@example.com", Role.OWNER)
    with pytest.raises(Denied):
        teams.remove_member(session, admin_actor, team, "owner@example.com")
    with pytest.raises(Conflict, match="would have no owner"):
        teams.set_member(session, owner_actor, team, "owner@example.com", Role.ADMIN)
    with pytest.raises(NotFound, match="no team crew"):
        teams.team_for(session, Actor(email="x@example.com"), "crew")
    with pytest.raises(Denied):
        teams.team_for(session, admin_actor, "crew", Action.MANAGE_TEAM)
    with pytest.raises(ShipwayError, match="not a valid name"):
        teams.create_team(session, "Crew!", owner)


def test_the_readmes_permission_table_is_this_one() -> None:
    """The README writes the table out; it must say what the code enforces."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("| Action | Least role | Covers |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1:3] for line in section.strip().splitlines()[1:]]
    assert {Action(a.strip()): Role.named(r.strip()) for a, r in rows} == PERMISSIONS
