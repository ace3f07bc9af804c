"""TLS for addons, as managed databases serve it.

Apps written for Heroku Postgres force ``sslmode=require`` and Redis clients may ask for
``rediss://``; a server without TLS refuses them. So each addon that can serve TLS gets a
self-signed certificate made for its Service's host (``<app>-<kind>.<ns>.svc``), valid for
ten years. Like the addon passwords it is made once and then read back: the deploy reads
the Secret ``<app>-<kind>-tls`` the last release applied (``ensure_tls``) and hands its
PEMs to render through the credentials, where ``from_credentials`` finds them. Plain
connections stay accepted; the certificate is only the transport's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: Where the server container finds its certificate and key (a Secret volume).
MOUNT = "/etc/shipway/tls"
CERT_FILE = f"{MOUNT}/tls.crt"
KEY_FILE = f"{MOUNT}/tls.key"


@dataclass(frozen=True)
class TlsPair:
    """A certificate and its private key, both PEM; the key never shows in a repr."""

    cert: str
    key: str = field(repr=False)


def secret_name(app: str, kind: str) -> str:
    return f"{app}-{kind}-tls"


def host(app: str, kind: str, namespace: str) -> str:
    """The Service's name as the app reaches it, in any cluster domain."""
    return f"{app}-{kind}.{namespace}.svc"


def credential_keys(kind: str) -> tuple[str, str]:
    """The names the certificate and key go under in render's credentials."""
    return f"{kind}-tls.crt", f"{kind}-tls.key"


def from_credentials(kind: str, credentials: Mapping[str, str]) -> TlsPair | None:
    """The addon's certificate, when the credentials hold one (a deploy's do)."""
    cert_key, key_key = credential_keys(kind)
    if credentials.get(cert_key) and credentials.get(key_key):
        return TlsPair(credentials[cert_key], credentials[key_key])
    return None


def ensure_tls(
    kinds: Iterable[str],
    app: str,
    namespace: str,
    kept: Callable[[str], Mapping[str, str]],
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Credentials entries for every addon of ``kinds`` that serves TLS: the kept
    certificate (``kept(secret_name)`` gives the Secret's values, empty when it does not
    exist) while it is usable, else a new one."""
    from shipway.addons import ADDONS  # noqa: PLC0415  (the addons import this module)

    serving = sorted(k for k in kinds if ADDONS[k].serves_tls)
    if not serving:
        return {}
    # Only for addons that serve TLS: cryptography takes a while to load.
    from shipway.addons.certificates import generate, usable  # noqa: PLC0415

    now = now or dt.datetime.now(dt.UTC)
    entries: dict[str, str] = {}
    for kind in serving:
        name = host(app, kind, namespace)
        values = kept(secret_name(app, kind))
        pair = TlsPair(values.get("tls.crt", ""), values.get("tls.key", ""))
        if not usable(pair, name, now):
            pair = generate(name, now)
        cert_key, key_key = credential_keys(kind)
        entries |= {cert_key: pair.cert, key_key: pair.key}
    return entries
