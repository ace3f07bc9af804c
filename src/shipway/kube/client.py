"""Connecting to a cluster from a kubeconfig context, with errors a user can act on."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import yaml
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError, ConfigError

from shipway.errors import ShipwayError, TemporaryError

FIELD_MANAGER = "shipway"
#: What the rest of Shipway names a connection to a cluster by.
__all__ = ["Client", "api_errors", "connect", "get_or_none", "kubeconfig_path"]


@dataclass(frozen=True)
class Target:
    """One app in one cluster: what every verb on an app works on."""

    client: Client
    namespace: str
    app: str


def kubeconfig_path() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first or Path.home() / ".kube" / "config").expanduser()


#: Where a pod finds its ServiceAccount's token (in-cluster credentials).
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


#: Clients made, by what they were made from: a long-running process (the server) keeps
#: its connections to the API server (and their TLS sessions) from one deploy to the
#: next. A changed kubeconfig, or a refreshed ServiceAccount token, makes a new one.
_clients: dict[tuple[object, ...], Client] = {}
#: Clients kept (one per context and file version is the usual need).
MAX_CLIENTS = 8
_clients_lock = threading.Lock()


def connect(context: str | None = None, timeout: float = 30) -> Client:
    """A client for ``context`` of the kubeconfig; in a pod with no kubeconfig and no
    context asked for, the pod's ServiceAccount (the in-cluster server). The same
    client again while the files it comes from are unchanged."""
    path = kubeconfig_path()
    key = (context, timeout, str(path), _stamp(path), _stamp(SERVICE_ACCOUNT_DIR / "token"))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _connect(path, context, timeout)
            if len(_clients) > MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
        return client


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _connect(path: Path, context: str | None, timeout: float) -> Client:
    if (
        context is None
        and not path.exists()
        and os.environ.get("KUBERNETES_SERVICE_HOST")
        and (SERVICE_ACCOUNT_DIR / "token").exists()
    ):
        in_cluster = KubeConfig.from_service_account()
        return Client(in_cluster, timeout=httpx.Timeout(timeout), field_manager=FIELD_MANAGER)
    try:
        config = KubeConfig.from_file(path)
    except OSError as exc:
        raise ShipwayError(
            f"{path}: cannot read the kubeconfig ({exc.strerror}); set KUBECONFIG to a "
            "cluster's kubeconfig"
        ) from None
    except (ConfigError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        # Never the parser's message: it may quote the file, tokens and all.
        raise ShipwayError(
            f"{path}: not a valid kubeconfig ({type(exc).__name__}); set KUBECONFIG to a "
            "cluster's kubeconfig, e.g. the one `make cluster-up` prints"
        ) from None
    names = list(config.contexts)
    if context is not None and context not in names:
        raise ShipwayError(f"{path}: no context '{context}'; use one of {', '.join(names)}")
    try:
        single = config.get(context_name=context)
    except ConfigError as exc:
        raise ShipwayError(f"{path}: {exc}; pick a context with --context") from None
    return Client(single, timeout=httpx.Timeout(timeout), field_manager=FIELD_MANAGER)


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Turn API and connection failures into one-line errors naming ``what`` was tried."""
    try:
        yield
    except ApiError as exc:
        status = exc.status
        if status.code == 403:
            raise ShipwayError(
                f"forbidden: the cluster does not let you {what} "
                f"({' '.join((status.message or '').split())}); ask the cluster's admin for "
                "RBAC rights to do this, or use a context that has them (--context)"
            ) from None
        if status.code == 401:
            raise ShipwayError(
                f"the cluster rejected the credentials while trying to {what}; "
                "refresh your kubeconfig"
            ) from None
        kind = TemporaryError if (status.code or 0) >= 500 else ShipwayError
        raise kind(f"could not {what}: {status.message}") from None
    except httpx.HTTPError as exc:
        raise TemporaryError(
            f"cannot reach the cluster to {what} ({_reason(exc)}); check that "
            "it is running and that your kubeconfig points at it"
        ) from None


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return text.splitlines()[0][:120]


def get_or_none(client: Client, kind: Any, name: str, namespace: str | None = None) -> Any:
    """The object, or None when it does not exist (other API errors are raised)."""
    try:
        return client.get(kind, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise
