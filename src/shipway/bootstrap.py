"""The first admin of a server installed in a cluster, made at its first start.

``shipway server install`` generates the admin's token on the installer's machine and
prints it once; the cluster only ever holds its SHA-256 (Secret ``shipway-bootstrap``,
given to the server's pod as ``SHIPWAY_BOOTSTRAP_EMAIL`` and
``SHIPWAY_BOOTSTRAP_TOKEN_SHA256``). A server with no users creates that admin, their
team ``main`` and a token with that digest; a server that has users ignores it. Neither
logs, ``kubectl get`` of the Deployment nor the Secret show a usable token: the digest
of a random 256-bit token cannot be turned back into it.
"""

from __future__ import annotations

import os
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipway import accounts, teams
from shipway.db.models import Token, User

EMAIL_ENV = "SHIPWAY_BOOTSTRAP_EMAIL"
DIGEST_ENV = "SHIPWAY_BOOTSTRAP_TOKEN_SHA256"
TEAM = "main"


def first_admin(session: Session) -> str | None:
    """Create the admin the environment names if the server has no users; their email,
    or None when there was nothing to do."""
    email, digest = os.environ.get(EMAIL_ENV, ""), os.environ.get(DIGEST_ENV, "")
    if not email or not re.fullmatch(r"[0-9a-f]{64}", digest):
        return None
    if session.scalar(select(func.count()).select_from(User)):
        return None
    user = accounts.create_user(session, email, site_admin=True)
    teams.create_team(session, TEAM, user)
    session.add(Token(user_id=user.id, name="server install", prefix="shp_install", digest=digest))
    session.flush()
    return user.email
