"""An app's webhook secret and deploy credential (issue 13), kept as a Secret in the
app's namespace: next to what they protect, readable by the same RBAC as its config
vars, gone with the app, never in the server's database or logs.

The secret is made here (random, shown once); the credential is what the server sends
when it fetches a delivery's commit over HTTPS (a token, with the user name the host
wants: ``x-access-token`` for GitHub, ``oauth2`` or a deploy token's name for GitLab)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from shipway import objects as o
from shipway.appstate import check_namespace
from shipway.errors import NotFound, ShipwayError
from shipway.kube import store
from shipway.kube.client import Client

SECRET = "webhook-secret"
TOKEN = "deploy-token"
USER = "deploy-user"
DEFAULT_USER = "x-access-token"
#: A token or user name as hosts issue them: printable, no spaces, no colon in a user.
TOKEN_CHARS = re.compile(r"[\x21-\x7e]{1,1000}")
USER_CHARS = re.compile(r"[A-Za-z0-9._@+-]{1,100}")


@dataclass(frozen=True)
class Keys:
    secret: str = ""
    token: str = ""
    user: str = DEFAULT_USER


def name_of(app: str) -> str:
    return f"{app}-git"


def read(client: Client, app: str) -> Keys:
    """The app's keys (empty ones when none were set)."""
    found = store.read(client, "Secret", name_of(app), app, f"read the git keys of {app}")
    values = store.secret_values(found)
    return Keys(values.get(SECRET, ""), values.get(TOKEN, ""), values.get(USER) or DEFAULT_USER)


def rotate_secret(client: Client, app: str) -> str:
    """A new random webhook secret for the app (the old one stops verifying at once)."""
    new = secrets.token_hex(32)
    keys = read(client, app)
    _save(client, app, Keys(new, keys.token, keys.user))
    return new


def set_token(client: Client, app: str, token: str | None, user: str | None) -> None:
    """Set (or, with None, remove) the credential sent when fetching over HTTPS."""
    if token is not None and not TOKEN_CHARS.fullmatch(token):
        raise ShipwayError("token: give the token itself (printable, no spaces)")
    if user is not None and not USER_CHARS.fullmatch(user):
        raise ShipwayError(
            "username: letters, digits and . _ @ + - only (e.g. x-access-token, oauth2)"
        )
    keys = read(client, app)
    _save(client, app, Keys(keys.secret, token or "", user or DEFAULT_USER))


def _save(client: Client, app: str, keys: Keys) -> None:
    if not check_namespace(client, app):
        raise NotFound(f"{app} has no namespace yet: create it first (shipway create {app})")
    data = {SECRET: keys.secret, TOKEN: keys.token, USER: keys.user}
    secret = o.secret(name_of(app), app, o.labels(app, app, "git"), data)
    # Kept across releases: pruning leaves it alone, like the config vars' Secret.
    secret["metadata"]["annotations"] = dict(o.KEEP)
    store.apply(client, secret, f"save the git keys of {app}")
