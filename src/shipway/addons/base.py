"""What every addon (backing service) renders, given a few facts about its server.

An addon is a StatefulSet of one pod whose data lives on a PersistentVolumeClaim, a
Service the app connects to, a Secret with generated credentials, and a NetworkPolicy
that admits only the app's own pods. Each concrete addon only says which image, port,
data path and environment its server needs, and how its connection URL looks. An addon
that serves TLS also gets its certificate's Secret, mounted into the server's pod, when
the binding carries one (see ``shipway.addons.tls``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway import objects as o
from shipway.addons import tls
from shipway.addons.tls import TlsPair
from shipway.spec.model import Service

#: Databases get a fixed, small footprint; users resize through the spec later.
REQUESTS = {"cpu": "100m", "memory": "256Mi"}
LIMITS = {"cpu": "1", "memory": "1Gi"}


@dataclass(frozen=True)
class Binding:
    """One addon as used by one app: everything its objects and URL depend on."""

    app: str
    namespace: str
    service: Service
    password: str
    image: str
    #: The server's certificate, for an addon that serves TLS (none: plain only).
    tls: TlsPair | None = None


class Addon:
    kind: str = ""
    image_repository: str = ""
    default_version: str = ""
    port: int = 0
    data_path: str = ""
    #: The user the official image's server runs as.
    uid: int = 999
    #: The server's environment variable that holds the generated password.
    password_env: str = ""
    #: The variable the app reads its connection URL from, then aliases.
    url_vars: tuple[str, ...] = ()
    user = "shipway"
    #: Whether the server can serve TLS with a certificate of ``shipway.addons.tls``.
    serves_tls: bool = False

    # -- what a concrete addon describes -------------------------------------------
    def server_env(self, b: Binding) -> dict[str, str]:
        """Secret environment of the server container (credentials, database name)."""
        raise NotImplementedError

    def url(self, b: Binding) -> str:
        raise NotImplementedError

    def args(self, b: Binding) -> list[str] | None:
        return None

    def tls_ports(self) -> list[tuple[str, int]]:
        """Ports the server opens for TLS only, beside ``port`` (name, number)."""
        return []

    def extra_env(self) -> list[dict[str, Any]]:
        return []

    # -- what every addon renders ----------------------------------------------------
    def image(self, service: Service, repository: str | None = None) -> str:
        """The server image: the official one, or the same tag from the user's mirror."""
        return f"{repository or self.image_repository}:{self.version(service)}"

    def version(self, service: Service) -> str:
        return service.version or self.default_version

    def name(self, app: str) -> str:
        return f"{app}-{self.kind}"

    def host(self, b: Binding) -> str:
        # <service>.<namespace>.svc resolves through the pod's DNS search path in any
        # cluster domain, unlike a hard-coded ".cluster.local".
        return tls.host(b.app, self.kind, b.namespace)

    def ports(self, b: Binding) -> list[tuple[str, int]]:
        """Every port the server listens on: its own, then those of TLS when it serves it."""
        return [(self.kind, self.port), *(self.tls_ports() if b.tls else [])]

    def app_env(self, b: Binding) -> dict[str, str]:
        """What the app receives: the URL under every name apps commonly read."""
        names = (b.service.env_var,) if b.service.env_var else self.url_vars
        return {var: self.url(b) for var in names}

    def database(self, b: Binding) -> str:
        return b.app.replace("-", "_")

    def objects(self, b: Binding) -> list[o.Obj]:
        server_env = self.server_env(b)
        # A new certificate rolls the pod as a new password does.
        config = server_env | ({"tls": b.tls.cert} if b.tls else {})
        return [
            o.secret(self.secret_name(b.app), b.namespace, self.labels(b), server_env),
            *([self.tls_secret(b, b.tls)] if b.tls else []),
            self.service_object(b),
            self.statefulset(b, o.content_hash(config)),
            self.network_policy(b),
        ]

    def tls_secret(self, b: Binding, pair: TlsPair) -> o.Obj:
        secret = o.secret(
            tls.secret_name(b.app, self.kind),
            b.namespace,
            self.labels(b),
            {"tls.crt": pair.cert, "tls.key": pair.key},
        )
        return secret | {"type": "kubernetes.io/tls"}

    def secret_name(self, app: str) -> str:
        return f"{self.name(app)}-auth"

    def labels(self, b: Binding) -> dict[str, str]:
        return o.labels(b.app, self.kind, self.kind)

    def service_object(self, b: Binding) -> o.Obj:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": o.metadata(self.name(b.app), b.namespace, self.labels(b)),
            "spec": {
                "type": "ClusterIP",
                "selector": o.selector(b.app, self.kind),
                "ports": [
                    {"name": name, "port": number, "targetPort": name, "protocol": "TCP"}
                    for name, number in self.ports(b)
                ],
            },
        }

    def statefulset(self, b: Binding, config_hash: str) -> o.Obj:
        labels = self.labels(b)
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": o.metadata(self.name(b.app), b.namespace, labels),
            "spec": {
                "serviceName": self.name(b.app),
                "replicas": 1,
                "selector": {"matchLabels": o.selector(b.app, self.kind)},
                # Never delete the data when the StatefulSet goes: the PVC outlives it.
                "persistentVolumeClaimRetentionPolicy": {
                    "whenDeleted": "Retain",
                    "whenScaled": "Retain",
                },
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {o.ANNOTATION_CONFIG_HASH: config_hash},
                    },
                    "spec": self.pod_spec(b),
                },
                "volumeClaimTemplates": [self.claim(b)],
            },
        }

    def pod_spec(self, b: Binding) -> o.Obj:
        container: o.Obj = {
            "name": self.kind,
            "image": b.image,
            "imagePullPolicy": "IfNotPresent",
        }
        args = self.args(b)
        if args:
            container["args"] = args
        container |= {
            "ports": [
                {"name": name, "containerPort": number, "protocol": "TCP"}
                for name, number in self.ports(b)
            ],
            "envFrom": [{"secretRef": {"name": self.secret_name(b.app)}}],
        }
        if self.extra_env():
            container["env"] = self.extra_env()
        container |= {
            "readinessProbe": o.tcp_probe(self.kind, 5, 3),
            "livenessProbe": o.tcp_probe(self.kind, 10, 6),
            "startupProbe": o.tcp_probe(self.kind, 2, 90),
            "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
            "securityContext": o.container_security(read_only_root=False),
            "volumeMounts": [{"name": "data", "mountPath": self.data_path}],
        }
        pod: o.Obj = {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": o.pod_security(self.uid),
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
        }
        if b.tls:
            container["volumeMounts"].append(
                {"name": "tls", "mountPath": tls.MOUNT, "readOnly": True}
            )
            pod["volumes"] = [self.tls_volume(b)]
        return pod

    def tls_volume(self, b: Binding) -> o.Obj:
        # root:<fsGroup> and 0640: PostgreSQL accepts a key owned by root only when no
        # one but its group may read it, and the server's user is in the pod's fsGroup.
        secret = {"secretName": tls.secret_name(b.app, self.kind), "defaultMode": 0o640}
        return {"name": "tls", "secret": secret}

    def claim(self, b: Binding) -> o.Obj:
        return {
            "metadata": {"name": "data", "labels": self.labels(b)},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": b.service.storage}},
            },
        }

    def network_policy(self, b: Binding) -> o.Obj:
        """Only the app's pods (processes and one-off runs) may open connections."""
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": o.metadata(self.name(b.app), b.namespace, self.labels(b)),
            "spec": {
                "podSelector": {"matchLabels": o.selector(b.app, self.kind)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "podSelector": {
                                    "matchLabels": {o.LABEL_INSTANCE: b.app, o.LABEL_NAME: b.app}
                                }
                            }
                        ],
                        "ports": [
                            {"protocol": "TCP", "port": number} for _, number in self.ports(b)
                        ],
                    }
                ],
            },
        }
