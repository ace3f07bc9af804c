"""Who may do what: the roles of a team's members and the permission table.

One table, read by every way in (the server's routes, git pushes, webhooks, the
dashboard), so a viewer is a viewer everywhere. Direct mode (a kubeconfig, no server) has
no table: whoever holds the kubeconfig already holds the cluster.
"""

from __future__ import annotations

import getpass
import socket
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

#: Who the changes made in this context are by (the author of a release): the signed-in
#: user when the server makes them, else (direct mode) the local user and host.
AUTHOR: ContextVar[str | None] = ContextVar("AUTHOR", default=None)


def who() -> str:
    return AUTHOR.get() or f"{getpass.getuser()}@{socket.gethostname()}"


class Role(IntEnum):
    """A member's role in a team; each includes the ones below it."""

    VIEWER = 1
    MEMBER = 2
    ADMIN = 3
    OWNER = 4

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            known = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role '{name}'; use one of {known}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    """What a request does to an app or a team, as the permission table knows it."""

    READ = "read"  # status, info, ps, releases, addons, logs, config names, deploys
    READ_CONFIG = "read-config"  # config values
    DEPLOY = "deploy"  # deploy, config:set/unset, scale, restart, run, rollback
    MANAGE_APP = "manage-app"  # create, destroy, addons:create/destroy, domains, import
    MANAGE_MEMBERS = "manage-members"  # members, invites, the audit log
    MANAGE_TEAM = "manage-team"  # owners, renaming and deleting the team


#: The least role each action needs. The README's table is this one, written out.
PERMISSIONS: dict[Action, Role] = {
    Action.READ: Role.VIEWER,
    Action.READ_CONFIG: Role.MEMBER,
    Action.DEPLOY: Role.MEMBER,
    Action.MANAGE_APP: Role.ADMIN,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.MANAGE_TEAM: Role.OWNER,
}


@dataclass(frozen=True)
class Actor:
    """Who is asking: a signed-in user with their role in each team (by team id), or the
    holder of a kubeconfig in direct mode (``local``), who may do anything."""

    email: str
    user_id: int | None = None
    roles: dict[int, Role] = field(default_factory=dict)
    site_admin: bool = False
    address: str = ""
    local: bool = False

    def may(self, action: Action, team_id: int) -> bool:
        if self.local:
            return True
        role = self.roles.get(team_id)
        return role is not None and role >= PERMISSIONS[action]

    def sees(self, team_id: int) -> bool:
        """Whether the team's apps exist for this actor at all (else they answer 404)."""
        return self.local or team_id in self.roles


def local_actor() -> Actor:
    """The holder of a kubeconfig in direct mode."""
    return Actor(email=who(), local=True, site_admin=True)
