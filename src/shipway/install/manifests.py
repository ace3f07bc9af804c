"""The objects of an installed server and of the in-cluster registry (pure: the same
input gives the same objects). Pods follow the Pod Security Standards' ``restricted``
profile with the helpers every app's pods use (``shipway.objects``), and the namespace
enforces it."""

from __future__ import annotations

from dataclasses import dataclass

from shipway import objects as o
from shipway import platform
from shipway.bootstrap import DIGEST_ENV, EMAIL_ENV
from shipway.grants import ENV as SERVICE_ACCOUNT_ENV
from shipway.install.rbac import NAMESPACE, SERVER
from shipway.objects import Obj

REGISTRY = "shipway-registry"
REGISTRY_PORT = 5000
#: Fixed, so each node's containerd can be told about it once (hack/cluster does).
REGISTRY_NODE_PORT = 30500
SERVER_PORT = 8700
SERVER_NODE_PORT = 30870
BOOTSTRAP = "shipway-bootstrap"
CA_BUNDLE = "shipway-ca-bundle"
CA_FILE = "/etc/shipway/ca/ca-certificates.crt"
DATABASE = "shipway-database"
STATE_DIR = "/var/lib/shipway"
#: The server as pods (build Jobs fetching their sources) reach it.
SERVER_SERVICE_URL = f"http://{SERVER}.{NAMESPACE}.svc.cluster.local:{SERVER_PORT}"
#: The registry's address as pods (the server pushing) reach it.
REGISTRY_SERVICE = f"{REGISTRY}.{NAMESPACE}.svc.cluster.local:{REGISTRY_PORT}"
REGISTRY_CONFIG = """\
version: 0.1
log: {level: info, formatter: text}
storage:
  filesystem: {rootdirectory: /var/lib/registry}
  delete: {enabled: true}
http: {addr: ":5000"}
"""


@dataclass(frozen=True)
class Options:
    server_image: str
    #: None: no in-cluster registry (the platform's, or --registry, is used).
    registry_image: str | None
    storage_class: str | None = None
    #: Given: a Secret with the URL (SHIPWAY_DATABASE); else SQLite on a PVC.
    database: str | None = None
    admin_email: str = "admin@example.com"
    admin_digest: str = ""
    #: Platform overrides for the server (SHIPWAY_REGISTRY, …), e.g. the in-cluster registry.
    platform_env: tuple[tuple[str, str], ...] = ()
    server_node_port: int = SERVER_NODE_PORT
    #: PEM bundle the server's package installs trust (a TLS-intercepting proxy's CA).
    ca_bundle: str | None = None
    registry_node_port: int = REGISTRY_NODE_PORT
    #: ``job``: builds run as Jobs of ``server_image``, which fetch their sources from
    #: the server's Service (see ``shipway.buildjob``).
    build_runner: str = "pool"


def _labels(component: str) -> dict[str, str]:
    return o.labels("shipway", f"shipway-{component}", component)


def namespace() -> Obj:
    return platform.namespace_object()


def _pvc(name: str, size: str, storage_class: str | None) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    meta = o.metadata(name, NAMESPACE, _labels(name.removeprefix("shipway-")))
    meta["annotations"] = dict(o.KEEP)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def _service(component: str, port: int, node_port: int) -> Obj:
    name = f"shipway-{component}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": o.metadata(name, NAMESPACE, _labels(component)),
        "spec": {
            "type": "NodePort",
            "selector": o.selector("shipway", component),
            "ports": [{"name": "http", "port": port, "targetPort": port, "nodePort": node_port}],
        },
    }


def _deployment(component: str, pod: Obj) -> Obj:
    labels = _labels(component)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": o.metadata(f"shipway-{component}", NAMESPACE, labels),
        "spec": {
            "replicas": 1,
            # One writer of the volume (SQLite, the registry's files) at a time.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": o.selector("shipway", component)},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def _readiness(path: str, port: int) -> Obj:
    """Ready after one answer; out of the Service only after ~20 s of silence: a node
    busy building must not take the registry or the server off their NodePort (the
    default 1 s timeout did, mid-push, on a loaded 2-core machine)."""
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": 2,
        "timeoutSeconds": 5,
        "failureThreshold": 4,
    }


def registry_objects(opts: Options) -> list[Obj]:
    assert opts.registry_image
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": o.metadata(REGISTRY, NAMESPACE, _labels("registry")),
        "data": {"config.yml": REGISTRY_CONFIG},
    }
    container = {
        "name": "registry",
        "image": opts.registry_image,
        "args": ["serve", "/etc/docker/registry/config.yml"],
        "ports": [{"name": "http", "containerPort": REGISTRY_PORT}],
        "readinessProbe": _readiness("/v2/", REGISTRY_PORT),
        "securityContext": o.container_security(read_only_root=True),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/registry"},
            {"name": "config", "mountPath": "/etc/docker/registry", "readOnly": True},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
    }
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": o.pod_security(o.APP_UID),
        "containers": [container],
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": REGISTRY}},
            {"name": "config", "configMap": {"name": REGISTRY}},
        ],
    }
    return [
        config,
        _pvc(REGISTRY, "10Gi", opts.storage_class),
        _deployment("registry", pod),
        _service("registry", REGISTRY_PORT, opts.registry_node_port),
    ]


def _secret_env(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def server_objects(opts: Options) -> list[Obj]:
    labels = _labels("server")
    bootstrap = o.secret(
        BOOTSTRAP, NAMESPACE, labels, {"email": opts.admin_email, "token-sha256": opts.admin_digest}
    )
    env: list[Obj] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        # A directory of its own on the volume: the server sets its mode (the volume's root
        # belongs to root).
        {"name": "SHIPWAY_STATE_DIR", "value": f"{STATE_DIR}/state"},
        {"name": "SHIPWAY_CACHE_DIR", "value": f"{STATE_DIR}/cache"},
        {"name": SERVICE_ACCOUNT_ENV, "value": f"{NAMESPACE}:{SERVER}"},
        _secret_env(EMAIL_ENV, BOOTSTRAP, "email"),
        _secret_env(DIGEST_ENV, BOOTSTRAP, "token-sha256"),
        *({"name": k, "value": v} for k, v in opts.platform_env),
        {"name": "SHIPWAY_BUILD_RUNNER", "value": opts.build_runner},
        {"name": "SHIPWAY_SERVER_IMAGE", "value": opts.server_image},
        {"name": "SHIPWAY_INTERNAL_URL", "value": SERVER_SERVICE_URL},
    ]
    objects = [bootstrap]
    if opts.database:
        objects.append(o.secret(DATABASE, NAMESPACE, labels, {"url": opts.database}))
        env.append(_secret_env("SHIPWAY_DATABASE", DATABASE, "url"))
    objects.append(_pvc("shipway-server", "5Gi", opts.storage_class))
    mounts: list[Obj] = []
    volumes: list[Obj] = []
    if opts.ca_bundle:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": o.metadata(CA_BUNDLE, NAMESPACE, labels),
                "data": {"ca-certificates.crt": opts.ca_bundle},
            }
        )
        mounts.append({"name": "ca", "mountPath": CA_FILE.rpartition("/")[0], "readOnly": True})
        volumes.append({"name": "ca", "configMap": {"name": CA_BUNDLE}})
        env += [{"name": v, "value": CA_FILE} for v in ("SSL_CERT_FILE", "PIP_CERT")]
    container = {
        "name": "server",
        "image": opts.server_image,
        "command": ["shipway", "server", "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
        "env": env,
        "ports": [{"name": "http", "containerPort": SERVER_PORT}],
        "readinessProbe": _readiness("/api/v1/health", SERVER_PORT),
        "securityContext": o.container_security(read_only_root=True),
        "volumeMounts": [
            {"name": "state", "mountPath": STATE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
            *mounts,
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
    }
    pod = {
        "serviceAccountName": SERVER,
        "securityContext": o.pod_security(o.APP_UID),
        "containers": [container],
        "volumes": [
            {"name": "state", "persistentVolumeClaim": {"claimName": "shipway-server"}},
            {"name": "tmp", "emptyDir": {}},
            *volumes,
        ],
    }
    return [
        *objects,
        _deployment("server", pod),
        _service("server", SERVER_PORT, opts.server_node_port),
    ]
