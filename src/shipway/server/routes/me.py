"""The server itself and the signed-in user: health, whoami."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shipway import __version__
from shipway.server.auth import DB, CurrentActor
from shipway.teams import teams_of

router = APIRouter(tags=["me"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/whoami")
def whoami(actor: CurrentActor, session: DB) -> dict[str, Any]:
    return {
        "email": actor.email,
        "site_admin": actor.site_admin,
        "teams": {team.name: role.label for team, role in teams_of(session, actor)},
    }
