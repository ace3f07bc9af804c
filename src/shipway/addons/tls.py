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

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Where the server container finds its certificate and key (a Secret volume).
MOUNT = "/etc/shipway/tls"
CERT_FILE = f"{MOUNT}/tls.crt"
KEY_FILE = f"{MOUNT}/tls.key"
VALID = dt.timedelta(days=3650)
#: A kept certificate this close to its end is replaced by a new one.
RENEW = dt.timedelta(days=30)
#: Clocks of clients a little behind the deploying machine's still accept a new one.
SKEW = dt.timedelta(hours=1)


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

    now = now or dt.datetime.now(dt.UTC)
    entries: dict[str, str] = {}
    for kind in sorted(k for k in kinds if ADDONS[k].serves_tls):
        name = host(app, kind, namespace)
        values = kept(secret_name(app, kind))
        pair = TlsPair(values.get("tls.crt", ""), values.get("tls.key", ""))
        if not usable(pair, name, now):
            pair = generate(name, now)
        cert_key, key_key = credential_keys(kind)
        entries |= {cert_key: pair.cert, key_key: pair.key}
    return entries


def common_name(name: str) -> str:
    """X.509 caps a CN at 64 characters, and a long app name in a long namespace passes
    that: then the CN is the Service's own name (clients check the SANs, which hold all)."""
    return name if len(name) <= 64 else name.split(".", maxsplit=1)[0][:64]


def generate(name: str, now: dt.datetime) -> TlsPair:
    """A self-signed certificate for host ``name`` (its first SAN, and CN), P-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name(name))])
    short = name.removesuffix(".svc")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + VALID)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in (name, short, short.split(".")[0])]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return TlsPair(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode())


def usable(pair: TlsPair, name: str, now: dt.datetime) -> bool:
    """Whether a kept pair still serves host ``name``: both parse, the key is the
    certificate's, it names the host, and it is not about to expire."""
    try:
        cert = x509.load_pem_x509_certificate(pair.cert.encode())
        key = serialization.load_pem_private_key(pair.key.encode(), password=None)
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return (
        key.public_key() == cert.public_key()
        and [n.value for n in names] == [common_name(name)]
        and cert.not_valid_after_utc - RENEW > now
    )
