"""The registry client against the bearer-token flow (Docker Hub's), for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.platform_images import push_rootfs
from shipway import project
from shipway.errors import ShipwayError
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore
from shipway.image.builder import BuildRequest, build
from shipway.image.reference import parse
from shipway.image.registry import RegistryClient
from tests.conftest import EXAMPLES
from tests.integration.token_auth import (
    TokenIssuer,
    make_issuer,
    serve_tokens,
    start_token_registry,
)


@pytest.fixture(scope="module")
def token_registry(
    infra_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TokenIssuer]]:
    issuer = make_issuer("tokenuser", "token-password")
    server, realm = serve_tokens(issuer)
    proc, host = start_token_registry(tmp_path_factory.mktemp("token-registry"), issuer, realm)
    yield host, issuer
    proc.terminate()
    proc.wait(10)
    server.shutdown()


def test_build_and_push_with_bearer_tokens(
    token_registry: tuple[str, TokenIssuer],
    base_rootfs: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, issuer = token_registry
    creds = Credentials(issuer.username, issuer.password)
    store = BlobStore(tmp_path / "blobs")
    base = push_rootfs(*base_rootfs, host, creds, store, "3.11")
    monkeypatch.setenv("SHIPWAY_CACHE_DIR", str(tmp_path / "cache"))
    request = BuildRequest(
        project.load(EXAMPLES / "hello"),
        parse(base),
        parse(f"{host}/apps/hello:token"),
        credentials=creds,
    )
    before = issuer.requests
    result = build(request, store)
    assert issuer.requests > before, "the client fetched tokens from the realm"
    assert [layer.status for layer in result.layers] == ["mounted", "uploaded", "uploaded"]
    client = RegistryClient(host, host, creds)
    body, _ = client.get_manifest(
        "apps/hello", "token", ["application/vnd.oci.image.manifest.v1+json"]
    )
    assert b'"layers"' in body


def test_wrong_password_gets_no_token(token_registry: tuple[str, TokenIssuer]) -> None:
    host, issuer = token_registry
    client = RegistryClient(host, host, Credentials(issuer.username, "wrong"))
    with pytest.raises(ShipwayError, match="refused the credentials of user 'tokenuser'"):
        client.blob_exists("apps/hello", "sha256:" + "0" * 64)
    anonymous = RegistryClient(host, host, None)
    with pytest.raises(ShipwayError, match="needs credentials"):
        anonymous.blob_exists("apps/hello", "sha256:" + "0" * 64)


def test_the_password_goes_to_the_token_service_once_per_scope(
    token_registry: tuple[str, TokenIssuer],
) -> None:
    host, issuer = token_registry
    creds = Credentials(issuer.username, issuer.password)
    client = RegistryClient(host, host, creds)
    before = len(issuer.seen)
    for _ in range(3):
        assert not client.blob_exists("apps/scoped", "sha256:" + "0" * 64)
    assert issuer.seen[before:] == [creds.authorization()]
    wrong = RegistryClient(host, host, Credentials(issuer.username, "wrong"))
    with pytest.raises(ShipwayError, match="refused the credentials"):
        wrong.blob_exists("apps/scoped", "sha256:" + "0" * 64)
    assert len(issuer.seen) == before + 2  # asked once, not again and again


def test_a_token_service_by_another_name_gets_nothing(
    token_registry: tuple[str, TokenIssuer], tmp_path: Path
) -> None:
    """The same machine, but not the registry's host name: plain HTTP is refused there."""
    _, issuer = token_registry
    realm = issuer.realm.replace("127.0.0.1", "localhost")
    shown = realm.removeprefix("http://").removesuffix("/token")
    proc, host = start_token_registry(tmp_path / "registry", issuer, realm)
    try:
        before = issuer.requests
        client = RegistryClient(host, host, Credentials(issuer.username, issuer.password))
        with pytest.raises(ShipwayError) as caught:
            client.blob_exists("apps/hello", "sha256:" + "0" * 64)
        assert str(caught.value) == (
            f"registry {host}: its token service ({shown}) is not on HTTPS; "
            "Shipway sends credentials over plain HTTP only to a plain-HTTP registry's own host"
        )
        assert issuer.requests == before
    finally:
        proc.terminate()
        proc.wait(10)
