"""A registry's answers must not send the user's credentials, or a token, where they
should not go (issue 10, class 7): a token service on another host over plain HTTP,
a redirect to storage or down to plain HTTP, an upload location or a next page on
another host. Every test says which server got which ``Authorization`` header.

127.0.0.1 is the registry; 127.0.0.2 and 127.0.0.3 stand for other hosts, and so does
``localhost``: a different name is a different origin, even for the same server.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from shipway.errors import ShipwayError, TemporaryError
from shipway.image import oci
from shipway.image import registry as registry_module
from shipway.image.auth import Credentials
from shipway.image.registry import (
    ERROR_BYTES,
    MANIFEST_BYTES,
    MAX_REDIRECTS,
    TOKEN_BYTES,
    RegistryClient,
)
from tests.helpers.fake_registry import Handler, Reply, Request, Serve

USER = Credentials("alice", "hunter2-password")
BASIC = USER.authorization()
TOKEN = "token.for-registry.A"
BEARER = f"Bearer {TOKEN}"
LAYER = b"the layer's bytes"
DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()
BLOB = f"/v2/app/blobs/{DIGEST}"
SECRETS = (USER.password, BASIC.split()[1], TOKEN, "sig-secret", "registry-pw")


def refused(call: Callable[[], object], kind: type[ShipwayError] = ShipwayError) -> str:
    """The one-line message of the error ``call`` raises (exactly of type ``kind``),
    checked to quote no secret."""
    with pytest.raises(ShipwayError) as caught:
        call()
    message = str(caught.value)
    assert type(caught.value) is kind, message
    assert "\n" not in message and "Traceback" not in message
    assert not [secret for secret in SECRETS if secret in message], message
    return message


# -- servers -------------------------------------------------------------------------
def token_service(request: Request) -> Reply:
    """Docker's token flow: the user's basic credentials buy a token."""
    if request.authorization != BASIC:
        return 401, {}, b""
    return 200, {"Content-Type": "application/json"}, json.dumps({"token": TOKEN}).encode()


def answering(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: (status, headers or {}, body)


def storage(request: Request) -> Reply:
    """Object storage a blob download is redirected to: open to anyone with the URL."""
    return 200, {"Content-Type": "application/octet-stream"}, LAYER


def guarded(inner: Handler, realm: str | None = None) -> Handler:
    """A registry that lets through to ``inner`` only requests with its token (from
    ``realm``) or, with no realm, the user's basic credentials."""

    def handle(request: Request) -> Reply:
        if not request.path.startswith("/v2/"):
            return inner(request)
        expected, scheme = (
            (BEARER, f'Bearer realm="{realm}",service="A"')
            if realm is not None
            else (BASIC, "Basic")
        )
        if request.authorization != expected:
            return 401, {"WWW-Authenticate": scheme}, b'{"errors": [{"code": "UNAUTHORIZED"}]}'
        return inner(request)

    return handle


def redirect(location: str, status: int = 307) -> Handler:
    return answering(b"", status, {"Location": location})


def back(port: int, path: str) -> Reply:
    """A redirect to the registry (on ``port``, known once it serves)."""
    return 307, {"Location": f"http://127.0.0.1:{port}{path}"}, b""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return int(probe.getsockname()[1])


def download(client: RegistryClient) -> bytes:
    out = io.BytesIO()
    client.download_blob("app", DIGEST, out)
    return out.getvalue()


def manifest(client: RegistryClient) -> bytes:
    return client.get_manifest("app", "v1", [oci.MANIFEST])[0]


# -- the token service -----------------------------------------------------------------
def test_an_https_token_service_on_another_host_gets_the_credentials_and_nothing_else(
    serve: Serve,
) -> None:
    """Docker's rule (Docker Hub's token service is auth.docker.io): HTTPS, any host.
    The token it gives goes to the registry only."""
    realm = serve(handle=token_service, address="127.0.0.2", tls=True)
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token"))
    assert manifest(registry.client(USER)) == b"{}"
    assert realm.authorizations() == [BASIC]
    assert registry.authorizations() == [None, BEARER]
    assert realm.received[0].query["scope"] == ["repository:app:pull,push"]


def test_a_plain_http_registry_may_use_a_token_service_on_its_own_host(serve: Serve) -> None:
    """As the integration tests' registry does (127.0.0.1, another port)."""
    realm = serve(handle=token_service)
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token?offline=1"))
    assert manifest(registry.client(USER)) == b"{}"
    assert realm.authorizations() == [BASIC]
    assert realm.received[0].query["offline"] == ["1"]
    assert registry.authorizations() == [None, BEARER]


@pytest.mark.parametrize("address", ["127.0.0.2", "localhost"])
def test_a_plain_http_token_service_on_another_host_gets_nothing(
    serve: Serve, address: str
) -> None:
    """localhost is the registry's machine, but not its host name: another origin."""
    realm = serve(
        handle=token_service, address="127.0.0.2" if address != "localhost" else "127.0.0.1"
    )
    url = f"http://{address}:{realm.server.server_address[1]}"
    registry = serve(handle=guarded(answering(b"{}"), f"{url}/token"))
    message = refused(lambda: manifest(registry.client(USER)))
    shown = re.escape(url.removeprefix("http://"))
    assert re.fullmatch(
        rf"registry 127\.0\.0\.1:\d+: its token service \({shown}\) is not on HTTPS; "
        r"Shipway sends credentials over plain HTTP only to a plain-HTTP registry's own host",
        message,
    )
    assert realm.received == []
    assert registry.authorizations() == [None]


def test_an_https_registry_never_downgrades_to_a_plain_http_token_service(serve: Serve) -> None:
    realm = serve(handle=token_service)  # the same host, over plain HTTP
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token"), tls=True)
    message = refused(lambda: manifest(registry.client(USER)))
    assert f"its token service ({realm.host}) is not on HTTPS" in message
    assert realm.received == []
    assert registry.authorizations() == [None]


@pytest.mark.parametrize(
    "realm", ["", "/token", "file:///etc/passwd", "ftp://127.0.0.2/token", "https://"]
)
def test_a_challenge_without_an_http_token_service_is_refused(serve: Serve, realm: str) -> None:
    registry = serve(handle=guarded(answering(b"{}"), realm))
    message = refused(lambda: manifest(registry.client(USER)))
    assert message.endswith(
        "its challenge names no HTTP(S) token service (realm); check the registry"
    )
    assert registry.authorizations() == [None]


def test_a_token_service_redirected_elsewhere_sends_the_credentials_no_further(
    serve: Serve,
) -> None:
    """The same server under another name is another origin: it gets no credentials."""
    port: list[int] = []

    def moved(request: Request) -> Reply:
        if request.path == "/token":
            return redirect(f"https://localhost:{port[0]}/elsewhere")(request)
        return token_service(request)

    realm = serve(handle=moved, tls=True)
    port.append(realm.server.server_address[1])
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token"))
    message = refused(lambda: manifest(registry.client(USER)))
    assert message == (
        f"registry {registry.host} refused the credentials of user 'alice'; check the "
        "username and password"
    )
    assert realm.authorizations() == [BASIC, None]
    assert [r.path for r in realm.received] == ["/token", "/elsewhere"]


def test_a_token_service_redirecting_to_plain_http_is_not_followed(serve: Serve) -> None:
    plain = serve(handle=token_service, address="127.0.0.3")
    realm = serve(handle=redirect(f"{plain.url}/token"), address="127.0.0.2", tls=True)
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token"))
    message = refused(lambda: manifest(registry.client(USER)))
    assert message == (
        f"registry {registry.host}: a redirect from {realm.host} to {plain.host} would leave "
        "HTTPS; Shipway does not follow it"
    )
    assert plain.received == []
    assert realm.authorizations() == [BASIC]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"token": 7}',
        b'{"token": ""}',
        b'{"token": "abc\\r\\nX-Injected: 1"}',  # would add a header line
        b'{"token": "abc def"}',
        json.dumps({"token": "a" * (TOKEN_BYTES + 1)}).encode(),
    ],
)
def test_a_token_that_is_not_a_token_is_refused(serve: Serve, body: bytes) -> None:
    realm = serve(handle=answering(body, headers={"Content-Type": "application/json"}))
    registry = serve(handle=guarded(answering(b"{}"), f"{realm.url}/token"))
    message = refused(lambda: manifest(registry.client(USER)))
    assert message == (
        f"registry {registry.host}: its token service sent no valid token; check the registry"
    )
    assert registry.authorizations() == [None]


def test_a_registry_that_always_says_401_is_asked_once_per_request(serve: Serve) -> None:
    """A fresh token each time, refused each time: no loop."""
    realm = serve(handle=token_service)
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm.url}/token"'}
    registry = serve(handle=answering(b"", 401, challenge))
    client = registry.client(USER)
    message = refused(lambda: client.blob_exists("app", DIGEST))
    assert message == (
        f"registry {registry.host} refused the credentials of user 'alice'; check the "
        "username and password"
    )
    assert realm.authorizations() == [BASIC]
    assert registry.authorizations() == [None, BEARER]


def test_a_registry_that_always_asks_for_basic_credentials_gets_them_once(
    serve: Serve,
) -> None:
    registry = serve(handle=answering(b"", 401, {"WWW-Authenticate": 'Basic realm="A"'}))
    client = registry.client(USER)
    refused(lambda: client.blob_exists("app", DIGEST))
    refused(lambda: client.blob_exists("app", DIGEST))
    assert registry.authorizations() == [None, BASIC, BASIC]


# -- redirects -------------------------------------------------------------------------
def with_blob(location: str) -> Handler:
    """A registry whose blob is served from ``location``."""
    return lambda request: redirect(location)(request) if request.path == BLOB else (404, {}, b"")


@pytest.mark.parametrize("realm", [True, False], ids=["bearer", "basic"])
@pytest.mark.parametrize("where", ["another host", "another port", "another name"])
def test_a_blob_redirected_to_storage_is_fetched_without_credentials(
    serve: Serve, realm: bool, where: str
) -> None:
    port: list[int] = []
    tokens = serve(handle=token_service, address="127.0.0.2", tls=True)
    store = serve(handle=storage, address="127.0.0.2" if where == "another host" else "127.0.0.1")
    location = f"{store.url}/layer?sig=sig-secret"

    def registry_side(request: Request) -> Reply:
        if where == "another name":
            if request.path == "/layer":
                return storage(request)
            return redirect(f"http://localhost:{port[0]}/layer?sig=sig-secret")(request)
        return with_blob(location)(request)

    registry = serve(handle=guarded(registry_side, f"{tokens.url}/token" if realm else None))
    port.append(registry.server.server_address[1])
    assert download(registry.client(USER)) == LAYER
    credential = BEARER if realm else BASIC
    if where == "another name":
        assert registry.authorizations() == [None, credential, None]
    else:
        assert registry.authorizations() == [None, credential]
        assert store.authorizations() == [None]
        assert store.received[0].query == {"sig": ["sig-secret"]}


def test_a_blob_checked_with_head_follows_its_redirect_without_credentials(
    serve: Serve,
) -> None:
    store = serve(handle=storage, address="127.0.0.2")
    registry = serve(handle=guarded(with_blob(f"{store.url}/layer")))
    assert registry.client(USER).blob_exists("app", DIGEST)
    assert [(r.method, r.authorization) for r in store.received] == [("HEAD", None)]
    assert registry.authorizations() == [None, BASIC]


def test_a_chain_of_redirects_keeps_the_credentials_on_the_registry_only(serve: Serve) -> None:
    """registry → registry (another path) → storage → registry: the registry's own
    answers carry them, the storage's never."""
    port: list[int] = []
    store = serve(handle=lambda request: back(port[0], "/v2/end"), address="127.0.0.2")

    def registry_side(request: Request) -> Reply:
        if request.path == BLOB:
            return redirect("/v2/moved")(request)
        if request.path == "/v2/moved":
            return redirect(f"{store.url}/layer")(request)
        return 200, {}, LAYER

    registry = serve(handle=guarded(registry_side))
    port.append(registry.server.server_address[1])
    assert download(registry.client(USER)) == LAYER
    assert [(r.path, r.authorization) for r in registry.received] == [
        (BLOB, None),
        (BLOB, BASIC),
        ("/v2/moved", BASIC),
        ("/v2/end", BASIC),
    ]
    assert store.authorizations() == [None]


@pytest.mark.parametrize("hops", [1, 2])
def test_a_redirect_from_https_to_plain_http_is_not_followed(serve: Serve, hops: int) -> None:
    plain = serve(handle=storage, address="127.0.0.3")
    middle = serve(handle=redirect(f"{plain.url}/layer"), address="127.0.0.2", tls=True)
    first = middle if hops == 2 else plain
    registry = serve(handle=guarded(with_blob(f"{first.url}/layer")), tls=True)
    message = refused(lambda: download(registry.client(USER)))
    start = registry.host if hops == 1 else middle.host
    assert message == (
        f"registry {registry.host}: a redirect from {start} to {plain.host} would leave "
        "HTTPS; Shipway does not follow it"
    )
    assert plain.received == []
    assert middle.authorizations() == ([None] if hops == 2 else [])


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.2/layer"])
def test_a_redirect_out_of_http_is_not_followed(serve: Serve, location: str) -> None:
    registry = serve(handle=with_blob(location))
    message = refused(lambda: download(registry.client(USER)))
    assert message.endswith("is not HTTP(S); Shipway does not follow it")


def test_redirect_loops_are_bounded(serve: Serve) -> None:
    port: list[int] = []
    other = serve(handle=lambda request: back(port[0], "/v2/again"), address="127.0.0.2")
    registry = serve(handle=redirect(f"{other.url}/again"))
    port.append(registry.server.server_address[1])
    message = refused(lambda: download(registry.client(USER)))
    assert message == (
        f"registry {registry.host}: more than {MAX_REDIRECTS} redirects for one request "
        f"(last to {registry.host}); check the registry"
    )
    assert len(registry.received) + len(other.received) == MAX_REDIRECTS + 1
    assert set(other.authorizations()) == {None}


def test_a_challenge_from_where_a_redirect_led_is_not_answered(serve: Serve) -> None:
    realm = serve(handle=token_service, address="127.0.0.2", tls=True)
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm.url}/token"'}
    store = serve(handle=answering(b"", 401, challenge), address="127.0.0.2")
    registry = serve(handle=guarded(with_blob(f"{store.url}/layer")))
    message = refused(lambda: download(registry.client(USER)))
    assert (
        message == f"registry {registry.host}: could not download {DIGEST[:19]} from app (HTTP 401)"
    )
    assert realm.received == []
    assert store.authorizations() == [None]


def test_a_redirected_manifest_push_is_not_followed(serve: Serve) -> None:
    """Only GET and HEAD are redirected: a PUT would resend the body elsewhere."""
    other = serve(handle=answering(b"", 201), address="127.0.0.2")
    registry = serve(handle=guarded(redirect(f"{other.url}/v2/app/manifests/v1")))
    client = registry.client(USER)
    message = refused(lambda: client.put_manifest("app", "v1", b"{}", oci.MANIFEST))
    assert message == f"registry {registry.host}: could not push the manifest of app:v1 (HTTP 307)"
    assert other.received == []


def test_a_broken_redirect_target_is_named_by_its_host_only(serve: Serve) -> None:
    port = closed_port()
    location = f"http://user:registry-pw@127.0.0.2:{port}/layer?sig=sig-secret"
    registry = serve(handle=with_blob(location))
    message = refused(lambda: download(registry.client(USER)), TemporaryError)
    assert message == (
        f"cannot reach 127.0.0.2:{port} (where registry {registry.host} sent Shipway) "
        "(connection refused); check that it is running and the address is right"
    )


# -- uploads and pages -----------------------------------------------------------------
def uploading(location: Callable[[Request], str | None]) -> Handler:
    """A registry taking uploads; ``location`` says where each upload answer points."""

    def handle(request: Request) -> Reply:
        if request.method in ("POST", "PATCH"):
            where = location(request)
            return 202, {"Location": where} if where is not None else {}, b""
        if request.method == "PUT":
            return 201, {}, b""
        return 404, {}, b""

    return handle


def push(client: RegistryClient, tmp_path: Path) -> None:
    (tmp_path / "layer").write_bytes(LAYER)
    client.upload_blob("app", DIGEST, tmp_path / "layer")


def test_an_upload_goes_where_the_registry_says_on_its_own_host(
    serve: Serve, tmp_path: Path
) -> None:
    """A blob that fits in one chunk goes whole with the PUT that completes the upload."""
    registry = serve(handle=guarded(uploading(lambda request: "/v2/app/blobs/uploads/1?state=x")))
    push(registry.client(USER), tmp_path)
    assert [(r.method, r.authorization) for r in registry.received] == [
        ("POST", None),
        ("POST", BASIC),
        ("PUT", BASIC),
    ]
    assert registry.received[2].body == LAYER
    assert registry.received[2].query == {"state": ["x"], "digest": [DIGEST]}


def test_a_larger_blob_goes_in_chunks_each_where_the_registry_says(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "CHUNK", 8)
    registry = serve(handle=guarded(uploading(lambda request: "/v2/app/blobs/uploads/1?state=x")))
    push(registry.client(USER), tmp_path)
    assert [(r.method, r.authorization) for r in registry.received] == [
        ("POST", None),
        ("POST", BASIC),
        ("PATCH", BASIC),
        ("PATCH", BASIC),
        ("PUT", BASIC),
    ]
    assert b"".join(r.body for r in registry.received[2:]) == LAYER


@pytest.mark.parametrize("step", ["POST", "PATCH"])
@pytest.mark.parametrize(
    "form",
    [
        "{url}/upload",
        "http://user:registry-pw@{host}/upload?sig=sig-secret",
        "https://{here}/upload",
    ],
)
def test_an_upload_location_on_another_origin_is_refused(
    serve: Serve, tmp_path: Path, step: str, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's data and the credentials would go with it."""
    monkeypatch.setattr(registry_module, "CHUNK", 8)  # a PATCH answer gives a location too
    other = serve(handle=answering(b"", 202), address="127.0.0.2")
    here: list[str] = []

    def location(request: Request) -> str:
        if request.method != step:
            return "/v2/app/blobs/uploads/1"
        return form.format(url=other.url, host=other.host, here=here[0])

    registry = serve(handle=guarded(uploading(location)))
    here.append(registry.host)
    message = refused(lambda: push(registry.client(USER), tmp_path))
    shown = registry.host if "{here}" in form else other.host
    assert message == (
        f"registry {registry.host}: the upload location for app points to another host "
        f"({shown}); Shipway sends credentials and image data only to the registry itself"
    )
    assert other.received == []
    assert [r.method for r in registry.received] == ["POST", "POST"] + (
        ["PATCH"] if step == "PATCH" else []
    )


def test_a_mount_answered_with_a_location_elsewhere_is_refused(serve: Serve) -> None:
    other = serve(handle=answering(b"", 202), address="127.0.0.2")
    registry = serve(handle=guarded(uploading(lambda request: f"{other.url}/upload")))
    client = registry.client(USER)
    message = refused(lambda: client.mount_blob("app", DIGEST, "base/python"))
    assert f"the upload location for app points to another host ({other.host})" in message
    assert other.received == []


def test_an_upload_answer_without_a_location_is_refused(serve: Serve, tmp_path: Path) -> None:
    registry = serve(handle=uploading(lambda request: None))
    message = refused(lambda: push(registry.client(USER), tmp_path))
    assert message == (
        f"registry {registry.host}: its answer to an upload to app has no Location; "
        "check the registry"
    )


def test_a_next_page_of_tags_on_another_host_gets_nothing(serve: Serve) -> None:
    other = serve(handle=answering(b'{"tags": ["16"]}'), address="127.0.0.2")
    link = {"Link": f'<{other.url}/v2/app/tags/list?last=15>; rel="next"'}
    registry = serve(handle=guarded(answering(b'{"tags": ["15"]}', headers=link)))
    message = refused(lambda: registry.client(USER).list_tags("app"))
    assert f"the next page of app's tags points to another host ({other.host})" in message
    assert other.received == []
    assert registry.authorizations() == [None, BASIC]


def test_anonymous_clients_send_no_authorization_anywhere(serve: Serve) -> None:
    store = serve(handle=storage, address="127.0.0.2")
    registry = serve(handle=with_blob(f"{store.url}/layer"))
    assert download(registry.client()) == LAYER
    assert registry.authorizations() == [None]
    assert store.authorizations() == [None]


def test_an_unreachable_registry_is_a_temporary_error() -> None:
    port = closed_port()
    dead = RegistryClient(f"127.0.0.2:{port}", f"127.0.0.2:{port}", USER, timeout=5)
    message = refused(lambda: dead.blob_exists("app", DIGEST), TemporaryError)
    assert message.startswith(f"cannot reach registry 127.0.0.2:{port} (connection refused)")


def test_storage_gets_no_credentials_from_netrc_or_from_the_location(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests would add a ``~/.netrc`` entry for the host, or the Location's user and
    password: Shipway sends its own Authorization or none."""
    (tmp_path / "netrc").write_text("machine 127.0.0.2 login bob password netrc-secret\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    store = serve(handle=storage, address="127.0.0.2")
    registry = serve(handle=guarded(with_blob(f"http://user:registry-pw@{store.host}/layer")))
    assert download(registry.client(USER)) == LAYER
    assert store.authorizations() == [None]
    assert registry.authorizations() == [None, BASIC]


# -- other answers, read bounded -------------------------------------------------------
def test_a_manifest_past_the_bound_is_refused(serve: Serve) -> None:
    registry = serve(handle=answering(b" " * (MANIFEST_BYTES + 1)))
    message = refused(lambda: manifest(registry.client()))
    assert message == (
        f"registry {registry.host}: the manifest of app:v1 is larger than 4 MiB; check the image"
    )


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b'{"errors": [{"message": "bad\\n\\u001b[2Jtag"}]}', ": bad \x1b[2Jtag"),
        (b'{"errors": [{"message": "' + b"x" * ERROR_BYTES + b'"}]}', ""),
        (b'{"errors": 7}', ""),
    ],
)
def test_an_error_answer_is_quoted_on_one_line_and_bounded(
    serve: Serve, body: bytes, shown: str
) -> None:
    """Control characters are the CLI's to strip; line breaks would split the message."""
    registry = serve(handle=answering(body, 400))
    message = refused(lambda: manifest(registry.client()))
    assert (
        message
        == f"registry {registry.host}: could not read the manifest of app:v1 (HTTP 400{shown})"
    )


def test_an_upload_location_keeps_its_query_byte_for_byte(serve: Serve, tmp_path: Path) -> None:
    """The registry's upload state is its own encoding: a '+' or '%3D' must come back as sent."""
    state = "/v2/app/blobs/uploads/1?_state=a+b%2Fc%3D%3D&n=1"
    registry = serve(handle=uploading(lambda request: state))
    push(registry.client(), tmp_path)
    put = registry.received[-1]
    assert put.method == "PUT"
    assert registry.requests[-1] == f"{state}&digest={DIGEST.replace(':', '%3A')}"
