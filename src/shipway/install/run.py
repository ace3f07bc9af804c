"""Install and uninstall the server in a cluster, through ``shipway.kube`` only.

The first admin's token is made here, on the installer's machine, and returned once;
the cluster keeps only its SHA-256 (see ``shipway.bootstrap``). A second install keeps
the admin the first one made (and prints no token).
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from shipway import __version__, accounts, grants
from shipway import objects as o
from shipway import platform as platform_settings
from shipway.errors import ShipwayError
from shipway.image.blobs import BlobStore
from shipway.image.progress import Progress, Silent
from shipway.install import images, manifests, mirror, rbac
from shipway.install.manifests import Options
from shipway.install.rbac import NAMESPACE
from shipway.kube import store
from shipway.kube.client import Client


@dataclass(frozen=True)
class Request:
    admin_email: str = "admin@example.com"
    storage_class: str | None = None
    database: str | None = None
    #: An external registry (HOST:PORT) for the server's and the apps' images: no
    #: in-cluster registry then.
    registry: str | None = None
    #: Where the installer pushes the images the cluster must pull before its own registry
    #: runs (the in-cluster registry's own image); default: the platform's registry.
    image_registry: str | None = None
    #: The in-cluster registry as the installer reaches it (a node's NodePort).
    push_via: str = f"127.0.0.1:{manifests.REGISTRY_NODE_PORT}"
    server_image: str | None = None
    #: PEM text of a CA bundle the server's package installs trust (--ca-bundle).
    ca_bundle: str | None = None
    #: Copy the platform's base and addon images into the in-cluster registry (the
    #: server's pod cannot reach a registry on the node's loopback).
    mirror_bases: bool = True
    timeout: float = 300
    #: ``job``: the server builds each deploy in a Job of its own image (``buildjob``).
    build_runner: str = "pool"


@dataclass(frozen=True)
class Installed:
    url: str
    #: Shown once; None when the server already had its first admin.
    token: str | None
    admin_email: str
    server_image: str
    registry: str | None
    pull_registry: str | None
    node_port: int


@dataclass
class Uninstalled:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def install(client: Client, request: Request, progress: Progress | None = None) -> Installed:
    progress = progress or Silent()
    platform = platform_settings.load(client).with_env()
    bootstrap_host = (
        request.image_registry or request.registry or platform.pull_registry or platform.registry
    )
    if request.server_image is None and bootstrap_host is None and request.registry is None:
        raise ShipwayError(
            "no registry the nodes can pull the install's images from: pass "
            "--image-registry HOST:PORT, or set one with shipway platform set registry=…"
        )
    store_ = BlobStore()
    progress.step(f"namespace {NAMESPACE} and RBAC")
    for obj in [manifests.namespace(), *rbac.objects()]:
        _apply(client, obj)

    where = _registry(client, request, platform, bootstrap_host, store_, progress)
    push_host, pull_host, env, registry_image = where
    server_image = request.server_image
    if server_image is None:
        progress.step("building the server from Shipway's source")
        pushed = images.server_image(
            f"{push_host}/shipway/server:{__version__}",
            platform.base_image,
            platform.insecure_registry,
            progress,
        )
        server_image = pushed.replace(push_host, pull_host, 1)

    # A fresh token at every install: the server takes its digest only while it has no
    # users, so the token is printed only if the running server accepts it.
    token = accounts.new_secret()
    digest = hashlib.sha256(token.encode()).hexdigest()
    email = request.admin_email
    opts = Options(
        server_image=server_image,
        registry_image=registry_image,
        storage_class=request.storage_class,
        database=request.database,
        admin_email=email,
        admin_digest=digest,
        platform_env=tuple(env),
        ca_bundle=request.ca_bundle,
        build_runner=request.build_runner,
    )
    progress.step("the server")
    for obj in manifests.server_objects(opts):
        _apply(client, obj)
    account = (NAMESPACE, rbac.SERVER)
    for ns in _app_namespaces(client):
        try:
            store.apply(client, grants.role_binding(ns, account), f"let the server manage {ns}")
        except ShipwayError:
            # Deleted (or being deleted) since it was listed: nothing to manage there.
            found = store.read(client, "Namespace", ns, None, f"read namespace {ns}")
            if found is None or found.metadata.deletionTimestamp:
                continue
            raise
    progress.step("waiting for the server")
    _wait_ready(client, "shipway-server", request.timeout)
    port = manifests.SERVER_NODE_PORT
    url = f"http://{_node_host(client)}:{port}"
    return Installed(
        url=url,
        token=token if _accepted(url, token, request.timeout) else None,
        admin_email=email,
        server_image=server_image,
        registry=dict(env).get("SHIPWAY_REGISTRY"),
        pull_registry=pull_host,
        node_port=port,
    )


#: The install's own field manager: what it sets stays when `shipway platform set` (the
#: "shipway" manager) applies shipway-system's namespace without the Pod Security labels.
FIELD_MANAGER = "shipway-install"


def _apply(client: Client, obj: o.Obj) -> None:
    what = f"install {obj['kind']} {obj['metadata']['name']}"
    store.apply(client, obj, what, field_manager=FIELD_MANAGER)


def _registry(
    client: Client,
    request: Request,
    platform: platform_settings.Platform,
    bootstrap_host: str | None,
    store_: BlobStore,
    progress: Progress,
) -> tuple[str, str, list[tuple[str, str]], str | None]:
    """Where images go (push host, pull host), the server's platform environment, and
    the in-cluster registry's image (None with an external --registry)."""
    if request.registry:
        return request.registry, request.registry, [("SHIPWAY_REGISTRY", request.registry)], None
    assert bootstrap_host is not None
    progress.step("the in-cluster registry's image (Debian's docker-registry)")
    registry_image = images.registry_image(bootstrap_host, platform.insecure_registry, store_)
    pull_host = f"127.0.0.1:{manifests.REGISTRY_NODE_PORT}"
    push_host = request.push_via
    env = [
        ("SHIPWAY_REGISTRY", manifests.REGISTRY_SERVICE),
        ("SHIPWAY_PULL_REGISTRY", pull_host),
        ("SHIPWAY_INSECURE_REGISTRY", "true"),
    ]
    opts = Options(
        server_image="", registry_image=registry_image, storage_class=request.storage_class
    )
    for obj in manifests.registry_objects(opts):
        _apply(client, obj)
    progress.step("waiting for the in-cluster registry")
    _wait_ready(client, manifests.REGISTRY, request.timeout)
    _wait_listening(push_host, request.timeout)
    if request.mirror_bases and (platform.base_images or platform.base_image):
        progress.step("copying the platform's base images into it")
        bases, default = mirror.base_images(
            platform.base_images, platform.base_image, push_host, platform.insecure_registry, store_
        )
        service = manifests.REGISTRY_SERVICE
        in_cluster = {minor: f"{service}/{path}" for minor, path in bases.items()}
        env.append(("SHIPWAY_BASE_IMAGES", json.dumps(in_cluster, sort_keys=True)))
        if default:
            env.append(("SHIPWAY_BASE_IMAGE", f"{service}/{default}"))
    if request.mirror_bases and platform.addon_images:
        progress.step("copying the platform's addon images into it")
        addons = mirror.addon_images(
            platform.addon_images, push_host, platform.insecure_registry, store_
        )
        pulled = {kind: f"{pull_host}/{path}" for kind, path in addons.items()}
        env.append(("SHIPWAY_ADDON_IMAGES", json.dumps(pulled, sort_keys=True)))
    return push_host, pull_host, env, registry_image


def _accepted(url: str, token: str, timeout: float) -> bool:
    """Whether the server takes ``token`` (False: it had its first admin already)."""
    request = urllib.request.Request(
        f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return False
            problem = f"HTTP {exc.code}"
        except OSError as exc:
            problem = str(exc)
        if time.monotonic() > deadline:
            raise ShipwayError(
                f"the server does not answer on {url} ({problem}); see kubectl -n "
                f"{NAMESPACE} logs deploy/shipway-server"
            )
        time.sleep(0.5)


def _app_namespaces(client: Client) -> list[str]:
    labels = {o.LABEL_MANAGED_BY: o.MANAGED_BY}
    found = store.find(client, "Namespace", None, labels, "list the apps' namespaces")
    return [
        ns.metadata.name
        for ns in found
        if ns.metadata.name != NAMESPACE
        and o.LABEL_INSTANCE in (ns.metadata.labels or {})
        and not ns.metadata.deletionTimestamp
    ]


def _node_host(client: Client) -> str:
    """127.0.0.1 when this machine is a node (NodePorts answer on loopback there), else
    the first node's InternalIP."""
    addresses = [
        a.address
        for node in store.find(client, "Node", None, {}, "list nodes")
        for a in (node.status.addresses or [])
        if a.type == "InternalIP"
    ]
    for address in addresses:
        try:
            with socket.socket() as sock:
                sock.bind((address, 0))
            return "127.0.0.1"
        except OSError:
            continue
    return str(addresses[0]) if addresses else "127.0.0.1"


def _wait_listening(address: str, timeout: float, steady: int = 3) -> None:
    """Until ``HOST:PORT`` accepts ``steady`` connections in a row, 0.5 s apart
    (kube-proxy programs a new NodePort a moment after the pod is ready, and a Service
    re-created on the same port can answer once before its rules settle)."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    accepted = 0
    while accepted < steady:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            accepted += 1
        except OSError as exc:
            accepted = 0
            if time.monotonic() > deadline:
                raise ShipwayError(
                    f"the in-cluster registry does not answer on {address} ({exc.strerror}); "
                    "pass --push-via HOST:PORT, an address of a node's NodePort"
                ) from None
        if accepted < steady:
            time.sleep(0.5)


def _wait_ready(client: Client, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        deployment: Any = store.read(client, "Deployment", name, NAMESPACE, f"read {name}")
        status = deployment.status if deployment else None
        if (
            status
            and (status.observedGeneration or 0) >= (deployment.metadata.generation or 0)
            and (status.updatedReplicas or 0) >= 1
            and (status.availableReplicas or 0) >= 1
            and (status.replicas or 0) == (status.updatedReplicas or 0)
        ):
            return
        if time.monotonic() > deadline:
            raise ShipwayError(
                f"{NAMESPACE}/{name} was not ready within {timeout:.0f} s ({_why(client, name)}); "
                f"see kubectl -n {NAMESPACE} describe pods"
            )
        time.sleep(1)


def _why(client: Client, name: str) -> str:
    component = name.removeprefix("shipway-")
    pods = store.find(
        client, "Pod", NAMESPACE, o.selector("shipway", component), f"read {name}'s pods"
    )
    for pod in pods:
        for cs in (pod.status.containerStatuses or []) if pod.status else []:
            waiting = cs.state.waiting if cs.state else None
            if waiting and waiting.reason:
                return f"{waiting.reason}: {(waiting.message or '')[:160]}"
        for cond in (pod.status.conditions or []) if pod.status else []:
            if cond.status != "True" and cond.message:
                return str(cond.message)[:160]
    return "no pod is ready"


#: What uninstall deletes, in order; PersistentVolumeClaims only with --delete-data.
OBJECTS = [
    ("Deployment", "shipway-server", NAMESPACE),
    ("Service", "shipway-server", NAMESPACE),
    ("Deployment", manifests.REGISTRY, NAMESPACE),
    ("Service", manifests.REGISTRY, NAMESPACE),
    ("ConfigMap", manifests.REGISTRY, NAMESPACE),
    ("ConfigMap", manifests.CA_BUNDLE, NAMESPACE),
    ("Secret", manifests.BOOTSTRAP, NAMESPACE),
    ("Secret", manifests.DATABASE, NAMESPACE),
    ("ValidatingAdmissionPolicyBinding", rbac.POLICY, None),
    ("ValidatingAdmissionPolicy", rbac.POLICY, None),
    ("RoleBinding", rbac.SERVER, NAMESPACE),
    ("Role", rbac.SERVER, NAMESPACE),
    ("ClusterRoleBinding", rbac.SERVER, None),
    ("ClusterRole", rbac.SERVER, None),
    ("ClusterRole", grants.APP_MANAGER, None),
    ("ServiceAccount", rbac.SERVER, NAMESPACE),
]
DATA = [
    ("PersistentVolumeClaim", "shipway-server", NAMESPACE),
    ("PersistentVolumeClaim", manifests.REGISTRY, NAMESPACE),
]


def uninstall(client: Client, delete_data: bool = False) -> Uninstalled:
    """Remove the server, its registry and its rights; the apps (their namespaces, data
    and releases) and the platform settings stay. ``delete_data``: the server's database
    volume and the registry's images too."""
    done = Uninstalled()
    for ns in _app_namespaces(client):
        store.delete_if_present(
            client, "RoleBinding", grants.BINDING, ns, f"remove the server's rights in {ns}"
        )
    for kind, name, namespace in [*OBJECTS, *(DATA if delete_data else [])]:
        where = f"{namespace}/" if namespace else ""
        if store.delete_if_present(client, kind, name, namespace, f"delete {kind} {name}"):
            done.deleted.append(f"{kind} {where}{name}")
    deadline = time.monotonic() + 180
    for kind, name, namespace in DATA if delete_data else []:
        # Gone once the pods using it are: a new install right after makes a fresh one.
        while store.read(client, kind, name, namespace, f"read {kind} {name}") is not None:
            if time.monotonic() > deadline:
                raise ShipwayError(f"{namespace}/{name} is still being deleted; try again later")
            time.sleep(1)
    done.kept.append("every app's namespace, objects, data and releases")
    done.kept.append(f"namespace {NAMESPACE} and the platform settings in it")
    if not delete_data:
        done.kept += [f"PersistentVolumeClaim {ns}/{name}" for _, name, ns in DATA]
    return done
