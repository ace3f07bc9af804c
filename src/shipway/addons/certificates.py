"""The self-signed certificates of addons that serve TLS (``tls``): made with P-256, kept
while usable, renewed a month before they end. Apart from ``tls`` so that only what makes
or checks a certificate loads cryptography."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shipway.addons.tls import TlsPair

VALID = dt.timedelta(days=3650)
#: A kept certificate this close to its end is replaced by a new one.
RENEW = dt.timedelta(days=30)
#: Clocks of clients a little behind the deploying machine's still accept a new one.
SKEW = dt.timedelta(hours=1)


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
