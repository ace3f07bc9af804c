"""Backing services an app can ask for; one module each. Add an addon by adding a module
and listing it here."""

from __future__ import annotations

from shipway.addons.base import Addon, Binding
from shipway.addons.mongodb import MongoDB
from shipway.addons.postgresql import PostgreSQL
from shipway.addons.redis import Redis

ADDONS: dict[str, Addon] = {a.kind: a for a in (MongoDB(), PostgreSQL(), Redis())}

__all__ = ["ADDONS", "Addon", "Binding", "password_key"]


def password_key(kind: str) -> str:
    """The name under which an addon's generated password is kept."""
    return f"{kind}-password"
