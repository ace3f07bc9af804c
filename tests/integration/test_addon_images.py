"""The addon server images of hack/images, run the way Shipway renders their StatefulSets.

Each image is built here (or taken from the cache), pushed to the local registry with
Shipway's client, pulled and run by a real Docker engine with what Shipway's addon
renders for its pod: the container's args (``$(VAR)`` expanded as Kubernetes does), the
environment of its Secret, user and group 999, every capability dropped, no privilege
escalation, and a fresh volume at the data path prepared as a new Kubernetes volume with
``fsGroup: 999`` is (owned root:999, mode 2775, a ``lost+found`` in it), and, for the
addons that serve TLS, the certificate Shipway makes, mounted as a Secret volume with
``defaultMode: 0640`` is (root:999). A real client then uses the URLs Shipway gives the
app, pointed at the published 127.0.0.1 ports; the container is then replaced by a new
one on the same volume and the data must be there.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

from hack import scripts
from hack.platform_images import HACK, push_addon_image
from shipway.addons import ADDONS, tls
from shipway.addons.base import Binding
from shipway.addons.versions import registry_tags, resolve_services
from shipway.image import oci
from shipway.image.auth import Credentials
from shipway.image.blobs import BlobStore
from shipway.image.reference import parse
from shipway.image.registry import RegistryClient
from shipway.spec.model import Service
from tests.integration.infra import Registry, cache_dir

APP, NAMESPACE = "tasks", "shop"
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Rendered:
    """What Shipway renders for one addon, and the URL it gives the app."""

    container: dict[str, Any]
    pod_security: dict[str, Any]
    env: dict[str, str]
    url: str
    app_env: dict[str, str]
    #: The TLS Secret's files by name, when the addon serves TLS.
    tls_files: dict[str, str]

    @property
    def data_path(self) -> str:
        return str(self.container["volumeMounts"][0]["mountPath"])

    @property
    def port(self) -> int:
        return int(self.container["ports"][0]["containerPort"])

    @property
    def ports(self) -> list[int]:
        return [int(p["containerPort"]) for p in self.container["ports"]]

    @property
    def host(self) -> str:
        """The Service host the app connects to (and the certificate names)."""
        return urlsplit(self.url).hostname or ""

    def args(self) -> list[str]:
        """The container's args, with ``$(VAR)`` expanded from its environment."""
        expand: Callable[[re.Match[str]], str] = lambda m: self.env.get(m[1], m[0])  # noqa: E731
        return [
            re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", expand, a)
            for a in self.container.get("args", [])
        ]


def render(kind: str, image: str) -> Rendered:
    """What a deploy renders: with the certificates ``ensure_tls`` makes for a new app."""
    addon = ADDONS[kind]
    made = tls.ensure_tls([kind], APP, NAMESPACE, lambda name: {})
    pair = tls.from_credentials(kind, made)
    binding = Binding(APP, NAMESPACE, Service(), secrets.token_urlsafe(24), image, pair)
    objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in addon.objects(binding)}
    pod = objects[f"StatefulSet/{addon.name(APP)}"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = secret_values(objects[f"Secret/{addon.secret_name(APP)}"])
    env |= {e["name"]: e["value"] for e in container.get("env", [])}
    tls_secret = objects.get(f"Secret/{tls.secret_name(APP, kind)}")
    tls_files = secret_values(tls_secret) if tls_secret else {}
    return Rendered(
        container,
        pod["securityContext"],
        env,
        addon.url(binding),
        addon.app_env(binding),
        tls_files,
    )


def secret_values(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


class Docker:
    """The docker CLI; remembers the containers and volumes it made, for ``remove_all``."""

    def __init__(self, cli: str):
        self.cli = cli
        self.made: list[tuple[str, str]] = []

    def remove_all(self) -> None:
        for what, name in reversed(self.made):
            if what == "container":
                self("rm", "--force", "--volumes", name, check=False)
            else:
                self("volume", "rm", "--force", name, check=False)

    def __call__(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        result = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check:
            assert result.returncode == 0, f"docker {' '.join(args[:2])}: {result.stderr}"
        return result.stdout

    def fresh_volume(self, image: str, gid: int) -> str:
        """A volume as a new Kubernetes volume with ``fsGroup: gid`` is: root:gid, 2775."""
        name = f"shipway-test-{secrets.token_hex(4)}"
        self("volume", "create", name)
        self.made.append(("volume", name))
        self(
            "run", "--rm", "--user", "0:0", "--entrypoint", "/bin/sh",
            "--mount", f"type=volume,src={name},dst=/volume", image, "-c",
            f"mkdir -m 700 /volume/lost+found && chown 0:{gid} /volume && chmod 2775 /volume",
        )  # fmt: skip
        return name

    def secret_volume(self, image: str, files: dict[str, str], gid: int) -> str:
        """A volume as the kubelet makes a Secret volume with ``defaultMode: 0640`` and
        ``fsGroup: gid``: each file root:gid, mode 0640."""
        name = f"shipway-test-{secrets.token_hex(4)}"
        self("volume", "create", name)
        self.made.append(("volume", name))
        env = [f"--env=FILE_{i}={content}" for i, content in enumerate(files.values())]
        write = " && ".join(
            f'printf %s "$FILE_{i}" >/volume/{file} && chown 0:{gid} /volume/{file} '
            f"&& chmod 0640 /volume/{file}"
            for i, file in enumerate(files)
        )
        self(
            "run", "--rm", "--user", "0:0", "--entrypoint", "/bin/sh", *env,
            "--mount", f"type=volume,src={name},dst=/volume", image, "-c", write,
        )  # fmt: skip
        return name

    def run_as_rendered(self, image: str, rendered: Rendered, volume: str) -> Server:
        """``docker run`` with what Shipway's pod spec says, its ports published on 127.0.0.1."""
        pod, security = rendered.pod_security, rendered.container["securityContext"]
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is False
        name = f"shipway-test-{secrets.token_hex(4)}"
        self.made.append(("container", name))
        env = [f"--env={k}={v}" for k, v in rendered.env.items()]
        mounts = ["--mount", f"type=volume,src={volume},dst={rendered.data_path},volume-nocopy"]
        if rendered.tls_files:
            tls_volume = self.secret_volume(image, rendered.tls_files, pod["fsGroup"])
            mounts += ["--mount", f"type=volume,src={tls_volume},dst={tls.MOUNT},readonly"]
        publish = [f"--publish=127.0.0.1::{port}" for port in rendered.ports]
        self(
            "run", "--detach", "--name", name,
            "--user", f"{pod['runAsUser']}:{pod['runAsGroup']}", "--group-add", str(pod["fsGroup"]),
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            *mounts, *publish, *env,
            image, *rendered.args(),
        )  # fmt: skip
        ports = {}
        for port in rendered.ports:
            published = self("port", name, f"{port}/tcp").splitlines()[0]
            ports[port] = int(published.rsplit(":", 1)[1])
        return Server(self, name, ports[rendered.port], ports)


@dataclass
class Server:
    docker: Docker
    name: str
    port: int
    #: Every container port, and where it is published on 127.0.0.1.
    ports: dict[int, int]

    def logs(self) -> str:
        result = subprocess.run(
            [self.docker.cli, "logs", self.name], capture_output=True, text=True, check=False
        )
        return result.stdout + result.stderr

    def running(self) -> bool:
        state = self.docker("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.strip() == "true"

    def stop(self) -> None:
        """Stopped as Kubernetes stops a pod (the image's stop signal, then a grace period)."""
        self.docker("stop", "--time", "30", self.name, timeout=60)
        self.docker("rm", "--volumes", self.name)

    def url(self, rendered: Rendered, var: str | None = None) -> str:
        """The app's URL (or its variable ``var``), pointed at this container's published
        port."""
        parts = urlsplit(rendered.app_env[var] if var else rendered.url)
        userinfo = parts.netloc.rpartition("@")[0]
        port = self.ports[parts.port or rendered.port]
        return urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{port}"))

    def wait(self, attempt: Callable[[], Any]) -> Any:
        """``attempt()`` until it succeeds; Docker's proxy accepts before the server does."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                return attempt()
            except Exception as err:  # any failure means "not ready yet"
                if not self.running():
                    pytest.fail(f"{self.name} exited:\n{self.logs()[-3000:]}", pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"{self.name} not ready after {READY_TIMEOUT:.0f} s ({err!r}):\n"
                        f"{self.logs()[-3000:]}",
                        pytrace=False,
                    )
                time.sleep(0.5)


@pytest.fixture
def docker(docker_engine: str) -> Iterator[Docker]:
    """The engine; the containers and volumes a test made are removed at its end."""
    cli = Docker(docker_engine)
    yield cli
    cli.remove_all()


@pytest.fixture(scope="module")
def addon_image(anonymous_registry: Registry, docker_engine: str) -> Iterator[Callable[[str], str]]:
    """Push an addon image with Shipway's client, pull it into the engine; its ref.

    The pulled tags name this session's registry, so they are removed at the end; a tag
    ``shipway-ci/addon-KIND:cache`` keeps the layers in the engine for the next run."""
    store = BlobStore(cache_dir() / "addons" / "blobs")  # kept: a warm run compresses nothing
    docker, pulled = Docker(docker_engine), {}

    def pushed(kind: str) -> str:
        ref = push_addon_image(kind, anonymous_registry.host, None, store)
        docker("pull", ref, timeout=600)
        pulled[kind] = ref
        return ref

    yield pushed
    for kind, ref in pulled.items():
        docker("tag", ref, f"shipway-ci/addon-{kind}:cache", check=False)
        docker("image", "rm", ref, check=False)


@pytest.fixture(scope="module")
def psql(infra_installed: None) -> str:
    scripts.output(HACK / "images" / "install.sh", timeout=900)  # postgresql-client, when missing
    path = shutil.which("psql")
    assert path, "psql not found after hack/images/install.sh"
    return path


Step = Callable[[Server, Rendered], None]


def run_twice(
    kind: str, addon_image: Callable[[str], str], docker: Docker, write: Step, read: Step
) -> None:
    """Run the image as rendered, ``write``; replace the container, keep the volume, ``read``."""
    ref = addon_image(kind)
    rendered = render(kind, ref)
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", ref))
    assert config["User"] == "999:999"
    assert f"{rendered.port}/tcp" in config["ExposedPorts"]
    volume = docker.fresh_volume(ref, rendered.pod_security["fsGroup"])
    first = docker.run_as_rendered(ref, rendered, volume)
    write(first, rendered)
    first.stop()
    second = docker.run_as_rendered(ref, rendered, volume)
    read(second, rendered)


def on_volume(docker: Docker, server: Server, rendered: Rendered) -> list[str]:
    return docker("exec", server.name, "ls", "-A", rendered.data_path).split()


# -- redis -------------------------------------------------------------------------------
class Resp:
    """A Redis connection speaking RESP over a plain socket, or over TLS with ``context``
    (checking the certificate names ``host``)."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None, host: str = ""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if context:
            self.sock = context.wrap_socket(self.sock, server_hostname=host)
        self.file = self.sock.makefile("rwb")

    def __call__(self, *words: str) -> Any:
        """Send one command; its reply (a status or error line as bytes, a bulk string,
        an integer, a list of replies, or None)."""
        command = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
        self.file.write(command.encode())
        self.file.flush()
        return self.reply()

    def reply(self) -> Any:
        line = self.file.readline().rstrip(b"\r\n")
        if not line:
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            return None if int(rest) < 0 else self.file.read(int(rest) + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        return int(rest) if kind == b":" else line

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def redis_connection(server: Server, rendered: Rendered, var: str = "REDIS_URL") -> Resp:
    """A connection authenticated with the password of Shipway's REDIS_URL; with
    ``var="REDIS_TLS_URL"``, over TLS, trusting only the addon's own certificate."""
    url = urlsplit(server.url(rendered, var))
    password = unquote(url.password or "")
    context = None
    if url.scheme == "rediss":
        context = ssl.create_default_context(cadata=rendered.tls_files["tls.crt"])
    connection = Resp(url.port or 0, context, rendered.host)
    reply = connection("AUTH", password)
    if reply != b"+OK":
        connection.close()
        raise ConnectionError(f"AUTH: {reply!r}")
    return connection


def test_redis_image(addon_image: Callable[[str], str], docker: Docker) -> None:
    def write(server: Server, rendered: Rendered) -> None:
        redis = server.wait(lambda: redis_connection(server, rendered))
        assert redis("SET", "task:1", "buy milk") == b"+OK"
        # The rendered args reached redis-server.
        assert redis("CONFIG", "GET", "appendonly") == [b"appendonly", b"yes"]
        assert redis("CONFIG", "GET", "dir") == [b"dir", rendered.data_path.encode()]
        redis.close()
        # rediss:// as Heroku gives it: the server's TLS port, the same data and password.
        assert rendered.app_env["REDIS_TLS_URL"].startswith("rediss://:")
        secure = redis_connection(server, rendered, "REDIS_TLS_URL")
        assert secure("GET", "task:1") == b"buy milk"
        assert secure("CONFIG", "GET", "tls-port") == [b"tls-port", b"6380"]
        secure.close()
        anonymous = Resp(server.port)
        assert anonymous("GET", "task:1").startswith(b"-NOAUTH")
        assert anonymous("AUTH", "wrong-password").startswith(b"-WRONGPASS")
        anonymous.close()

    def read(server: Server, rendered: Rendered) -> None:
        redis = server.wait(lambda: redis_connection(server, rendered))
        assert redis("GET", "task:1") == b"buy milk"
        redis.close()
        assert "appendonlydir" in on_volume(docker, server, rendered)

    run_twice("redis", addon_image, docker, write, read)


# -- postgresql --------------------------------------------------------------------------
def test_postgresql_image(
    addon_image: Callable[[str], str], docker: Docker, psql: str, tmp_path: Path
) -> None:
    def query(url: str, sql: str) -> str:
        result = subprocess.run(
            [psql, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql, url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "5"},
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        return result.stdout.strip()

    def write(server: Server, rendered: Rendered) -> None:
        url = server.url(rendered)
        who = server.wait(lambda: query(url, "SELECT current_user || ' ' || current_database()"))
        assert who == f"shipway {APP}"
        query(url, "CREATE TABLE tasks (title text); INSERT INTO tasks VALUES ('buy milk')")
        wrong = url.replace(f":{urlsplit(url).password}@", ":wrong-password@")
        with pytest.raises(RuntimeError, match="password authentication failed"):
            query(wrong, "SELECT 1")
        assert query(url, "SHOW listen_addresses") == "*"
        assert query(url, "SHOW data_directory") == rendered.env["PGDATA"]
        network = "SELECT auth_method FROM pg_hba_file_rules WHERE address = 'all'"
        assert query(url, network) == "scram-sha-256"
        assert "initializing" in server.logs()
        # TLS as managed databases serve it; plain connections stay accepted.
        tls_in_use = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        assert query(f"{url}?sslmode=require", tls_in_use) == "t"
        assert query(f"{url}?sslmode=disable", tls_in_use) == "f"
        # The certificate names the Service's host and is its own root.
        root = tmp_path / "root.crt"
        root.write_text(rendered.tls_files["tls.crt"])
        parts = urlsplit(url)
        verified = urlunsplit(
            parts._replace(
                netloc=parts.netloc.replace("127.0.0.1", rendered.host),
                query=f"hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={root}",
            )
        )
        assert query(verified, tls_in_use) == "t"

    def read(server: Server, rendered: Rendered) -> None:
        url = server.url(rendered)
        assert server.wait(lambda: query(url, "SELECT title FROM tasks")) == "buy milk"
        assert query(f"{url}?sslmode=require", "SHOW ssl") == "on"
        assert "initializing" not in server.logs()  # a later start only runs postgres
        assert {"lost+found", "pgdata"} <= set(on_volume(docker, server, rendered))

    run_twice("postgresql", addon_image, docker, write, read)


# -- mongodb (FerretDB) ------------------------------------------------------------------
def test_mongodb_image(addon_image: Callable[[str], str], docker: Docker) -> None:
    # Here, not at the top: without pymongo (the test extra) only this test fails.
    import pymongo  # noqa: PLC0415
    from pymongo.collection import Collection  # noqa: PLC0415
    from pymongo.errors import OperationFailure  # noqa: PLC0415

    def find_one(url: str, query: dict[str, Any] | None = None) -> Any:
        """What the app does with MONGODB_URI: its default database, pymongo's defaults."""
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(url, serverSelectionTimeoutMS=5000) as client:
            return client.get_default_database().tasks.find_one(query)

    def write(server: Server, rendered: Rendered) -> None:
        url = server.url(rendered)
        assert url.endswith(f"/{APP}?authSource=admin")
        server.wait(lambda: find_one(url))
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(url) as client:
            tasks: Collection[dict[str, Any]] = client.get_default_database().tasks
            inserted = tasks.insert_one({"title": "buy milk"}).inserted_id
            assert find_one(url, {"_id": inserted}) == {"_id": inserted, "title": "buy milk"}
        # Authentication is real: a wrong password or none at all gets nothing.
        password = urlsplit(url).password
        with pytest.raises(OperationFailure, match="Authentication failed"):
            find_one(url.replace(f":{password}@", ":wrong-password@"))
        with pytest.raises(OperationFailure, match="requires authentication"):
            find_one(url.replace(f"shipway:{password}@", ""))

    def read(server: Server, rendered: Rendered) -> None:
        found = server.wait(lambda: find_one(server.url(rendered), {"title": "buy milk"}))
        assert found is not None and found["title"] == "buy milk"
        assert f"{APP}.sqlite" in on_volume(docker, server, rendered)

    run_twice("mongodb", addon_image, docker, write, read)


# -- as an addon image of the platform ---------------------------------------------------
@pytest.mark.parametrize("kind", sorted(ADDONS))
def test_push_under_the_name_shipway_renders(
    kind: str, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushed with credentials as a private mirror of the official image Shipway names
    (``HOST/<official name>:<default version>``), with its config as built; a version
    the mirror lacks resolves to its tag of the same line."""
    addon = ADDONS[kind]
    expected = addon.image(Service(), repository=f"{registry.host}/{addon.image_repository}")
    ref = parse(expected)
    credentials = Credentials(registry.username or "", registry.password or "")
    store = BlobStore(cache_dir() / "addons" / "blobs")
    pushed = push_addon_image(
        kind, registry.host, credentials, store, repository=ref.repository, tag=ref.tag
    )
    assert pushed == expected
    client = RegistryClient(ref.registry, ref.api_host, credentials)
    body, media_type = client.get_manifest(ref.repository, ref.identifier, [oci.MANIFEST])
    assert media_type == oci.MANIFEST
    manifest = json.loads(body)
    config = io.BytesIO()
    client.download_blob(ref.repository, manifest["config"]["digest"], config)
    image = json.loads(config.getvalue())
    assert image["config"]["User"] == "999:999"
    assert image["config"]["ExposedPorts"] == {f"{addon.port}/tcp": {}}
    assert addon.data_path in image["config"]["Volumes"]
    assert len(image["rootfs"]["diff_ids"]) == len(manifest["layers"]) == 1
    assert ref.tag in client.list_tags(ref.repository)
    monkeypatch.setenv("SHIPWAY_REGISTRY_USERNAME", credentials.username)
    monkeypatch.setenv("SHIPWAY_REGISTRY_PASSWORD", credentials.password)
    mirror = f"{registry.host}/{addon.image_repository}"
    asked = {kind: Service(version=f"{addon.default_version}.99")}
    resolved, warnings = resolve_services(asked, {kind: mirror}, registry_tags())
    assert resolved[kind].version == addon.default_version
    assert warnings == [
        f"{kind} {addon.default_version}.99 is not offered by {mirror}; using "
        f"{addon.default_version}, the newest {addon.default_version}.x it has"
    ]
