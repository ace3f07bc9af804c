"""Addon TLS: one certificate per app and addon, made once, kept, mounted as PostgreSQL
and Redis need it; the rendered objects stay valid and restricted."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import kubernetes_validate
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from shipway.addons import ADDONS
from shipway.addons.base import Binding
from shipway.addons.certificates import generate, usable
from shipway.addons.tls import (
    TlsPair,
    credential_keys,
    ensure_tls,
    from_credentials,
    host,
    secret_name,
)
from shipway.spec.model import Service
from tests.helpers.pss import violations

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
HOST = "shop-postgresql.shop.svc"
PAIR = generate(HOST, NOW)
Obj = dict[str, Any]


def test_a_certificate_names_the_service_for_ten_years() -> None:
    cert = x509.load_pem_x509_certificate(PAIR.cert.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    assert cert.issuer == cert.subject  # self-signed
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [
        HOST,
        "shop-postgresql.shop",
        "shop-postgresql",
    ]
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - NOW == dt.timedelta(days=3650)
    key = serialization.load_pem_private_key(PAIR.key.encode(), password=None)
    assert key.public_key() == cert.public_key()
    assert PAIR.key not in repr(PAIR)


def kept_in(secrets: dict[str, dict[str, str]]) -> Any:
    """``kept`` for ensure_tls: the values of the Secrets an earlier release applied."""
    return lambda name: secrets.get(name, {})


def test_made_once_for_each_addon_that_serves_tls() -> None:
    made = ensure_tls(["mongodb", "redis", "postgresql"], "shop", "shop", kept_in({}), NOW)
    assert sorted(made) == sorted([*credential_keys("postgresql"), *credential_keys("redis")])
    postgresql, redis = from_credentials("postgresql", made), from_credentials("redis", made)
    assert postgresql and redis and postgresql.cert != redis.cert
    assert from_credentials("mongodb", made) is None


def test_a_kept_certificate_is_read_back_unchanged() -> None:
    kept = {secret_name("shop", "postgresql"): {"tls.crt": PAIR.cert, "tls.key": PAIR.key}}
    later = NOW + dt.timedelta(days=400)
    again = ensure_tls(["postgresql"], "shop", "shop", kept_in(kept), later)
    assert from_credentials("postgresql", again) == PAIR


@pytest.mark.parametrize(
    ("kept", "namespace", "days"),
    [
        ({"tls.crt": PAIR.cert, "tls.key": PAIR.key}, "other", 0),  # another Service host
        ({"tls.crt": PAIR.cert, "tls.key": PAIR.key}, "shop", 3640),  # about to expire
        ({"tls.crt": PAIR.cert, "tls.key": generate(HOST, NOW).key}, "shop", 0),  # not its key
        ({"tls.crt": "garbage", "tls.key": PAIR.key}, "shop", 0),
        ({"tls.crt": PAIR.cert}, "shop", 0),
    ],
)
def test_an_unusable_kept_certificate_is_replaced(
    kept: dict[str, str], namespace: str, days: int
) -> None:
    secrets = {secret_name("shop", "postgresql"): kept}
    when = NOW + dt.timedelta(days=days)
    made = ensure_tls(["postgresql"], "shop", namespace, kept_in(secrets), when)
    pair = from_credentials("postgresql", made)
    assert pair is not None and pair.cert != PAIR.cert
    cert = x509.load_pem_x509_certificate(pair.cert.encode())
    name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert name == f"shop-postgresql.{namespace}.svc"


def rendered(kind: str, pair: TlsPair | None) -> dict[str, Obj]:
    binding = Binding("shop", "shop", Service(), "secret-pw", f"{kind}:1", pair)
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in ADDONS[kind].objects(binding)}


@pytest.mark.parametrize("kind", ["postgresql", "redis"])
def test_rendered_with_tls_the_objects_stay_valid_and_restricted(kind: str) -> None:
    objects = rendered(kind, generate(f"shop-{kind}.shop.svc", NOW))
    for obj in objects.values():
        kubernetes_validate.validate(obj, "1.34.0", strict=True)
    pod = objects[f"StatefulSet/shop-{kind}"]["spec"]["template"]["spec"]
    assert violations(pod) == []
    secret = objects[f"Secret/shop-{kind}-tls"]
    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["tls.crt", "tls.key"]
    # root:999, 0640: PostgreSQL's rule for a key file not owned by its own user.
    assert pod["volumes"] == [
        {"name": "tls", "secret": {"secretName": f"shop-{kind}-tls", "defaultMode": 0o640}}
    ]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"] == 999
    (container,) = pod["containers"]
    assert {"name": "tls", "mountPath": "/etc/shipway/tls", "readOnly": True} in container[
        "volumeMounts"
    ]


def test_postgresql_serves_tls_on_its_port_and_the_url_stays() -> None:
    plain, secure = rendered("postgresql", None), rendered("postgresql", PAIR)
    container = secure["StatefulSet/shop-postgresql"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == [
        "postgres",
        "-c",
        "ssl=on",
        "-c",
        "ssl_cert_file=/etc/shipway/tls/tls.crt",
        "-c",
        "ssl_key_file=/etc/shipway/tls/tls.key",
    ]
    assert container["ports"] == [{"name": "postgresql", "containerPort": 5432, "protocol": "TCP"}]
    assert (
        "args"
        not in plain["StatefulSet/shop-postgresql"]["spec"]["template"]["spec"]["containers"][0]
    )
    assert "Secret/shop-postgresql-tls" not in plain
    binding = Binding("shop", "shop", Service(), "pw", "postgres:16", PAIR)
    assert ADDONS["postgresql"].app_env(binding) == {
        "DATABASE_URL": "postgresql://shipway:pw@shop-postgresql.shop.svc:5432/shop"
    }


def test_redis_opens_a_tls_port_and_the_app_gets_rediss() -> None:
    objects = rendered("redis", generate("shop-redis.shop.svc", NOW))
    pod = objects["StatefulSet/shop-redis"]["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--tls-port") + 1] == "6380" and args[args.index("--port") + 1] == "6379"
    assert args[args.index("--tls-auth-clients") + 1] == "no"
    assert [p["containerPort"] for p in pod["containers"][0]["ports"]] == [6379, 6380]
    service_ports = objects["Service/shop-redis"]["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in service_ports] == [
        ("redis", 6379, "redis"),
        ("redis-tls", 6380, "redis-tls"),
    ]
    policy = objects["NetworkPolicy/shop-redis"]["spec"]["ingress"][0]["ports"]
    assert [p["port"] for p in policy] == [6379, 6380]
    binding = Binding("shop", "shop", Service(), "p/w", "redis:7", PAIR)
    assert ADDONS["redis"].app_env(binding) == {
        "REDIS_URL": "redis://:p%2Fw@shop-redis.shop.svc:6379/0",
        "REDIS_TLS_URL": "rediss://:p%2Fw@shop-redis.shop.svc:6380/0",
    }


def test_a_new_certificate_rolls_the_server_pod() -> None:
    def config_hash(pair: TlsPair | None) -> str:
        sts = rendered("postgresql", pair)["StatefulSet/shop-postgresql"]
        return str(sts["spec"]["template"]["metadata"]["annotations"]["shipway.dev/config-hash"])

    assert len({config_hash(None), config_hash(PAIR), config_hash(generate(HOST, NOW))}) == 3
    assert config_hash(PAIR) == config_hash(PAIR)


def test_the_secret_holds_the_pems() -> None:
    secret = rendered("postgresql", PAIR)["Secret/shop-postgresql-tls"]
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"tls.crt": PAIR.cert, "tls.key": PAIR.key}


def test_a_long_host_keeps_every_name_in_the_sans_and_a_short_cn() -> None:
    """An app name of 40 characters in a namespace as long passes X.509's 64-character CN."""
    app = "a" * 40
    name = host(app, "postgresql", app)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    pair = generate(name, now)
    cert = x509.load_pem_x509_certificate(pair.cert.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert name in sans.get_values_for_type(x509.DNSName)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"{app}-postgresql"
    assert usable(pair, name, now)
