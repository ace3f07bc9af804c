"""Waiting for a release's workloads to roll out, and saying why when they do not.

A rollout succeeds when every Deployment's controller has seen the new spec and all its
replicas are updated and available (and every addon StatefulSet is ready). The state is
read again the moment the API server reports a change to the workloads or their pods (a
watch per kind, ``Changes``), and every few seconds for what no event announces (a pod
stuck for too long, the timeout; every half second when watching fails), so success and
failure are seen as soon as they happen. It fails as
soon as a new pod of either cannot start (crash loop, image pull error; a config error
once the pod is 30 s old, as the kubelet reports one briefly while it syncs Secrets; a
web server whose log says it listens where probes cannot reach it), on
a Deployment's ``ProgressDeadlineExceeded``, or at the timeout; the reason carries the
pod's events and the last lines of its log.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx2
from lightkube import Client
from lightkube.config.client_adapter import Client as HttpClient
from lightkube.config.client_adapter import ConnectionParams
from lightkube.core.exceptions import ApiError
from lightkube.resources import apps_v1
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event, Pod

from shipway.errors import ShipwayError
from shipway.kube.apply import as_json
from shipway.kube.client import api_errors, get_or_none
from shipway.kube.listening import misbound
from shipway.kube.logs import read_log

#: Container states that will not fix themselves in time.
STUCK = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
    "CreateContainerError",
    "RunContainerError",
}
#: Of those, the ones a new pod can also hit for a moment and recover from by itself (the
#: kubelet's cache of the pod's Secrets not yet in sync): stuck only after this many
#: seconds of the pod's life. A missing Secret or key stays and fails then.
SETTLING = {"CreateContainerConfigError": 30.0, "CreateContainerError": 30.0}


class RolloutFailed(ShipwayError):
    """The new release did not become available; ``str()`` says why."""


@dataclass(frozen=True)
class Workload:
    kind: str  # Deployment or StatefulSet
    name: str


def wait(
    client: Client,
    namespace: str,
    workloads: list[Workload],
    timeout: float,
    poll: float = 0.5,
    *,
    meanwhile: Callable[[], object] | None = None,
) -> None:
    """Return once every workload is rolled out; raise ``RolloutFailed`` as soon as one
    cannot be. ``meanwhile`` runs once while the first pods start (or at the end, when
    nothing had to start): work that need not hold the rollout up."""
    deadline = time.monotonic() + timeout
    pending = list(workloads)
    changes: Changes | None = None
    pods = True  # whether pods may have changed since the last look
    try:
        with api_errors("follow the rollout"):
            while True:
                pending = [w for w in pending if not _done(client, namespace, w, pods)]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    summary = f"not ready after {timeout:.0f} s"
                    raise RolloutFailed(_diagnose(client, namespace, pending[0], summary))
                if changes is None:
                    kinds = sorted({w.kind for w in pending})
                    changes = Changes(client, namespace, [*kinds, "Pod"])
                    if meanwhile is not None:
                        meanwhile()
                        meanwhile = None
                        continue
                # Watched, the loop wakes on the change; the timer only serves what no
                # event announces (a config error that lasts, a log to read, the timeout).
                tick = WATCHED_POLL if changes.watching else poll
                changed = changes.wait(min(tick, max(deadline - time.monotonic(), 0.0)))
                pods = not changed or "Pod" in changed or not changes.watching
    finally:
        if changes is not None:
            changes.close()
    if meanwhile is not None:
        meanwhile()


#: Where the API lists each kind that a rollout watches, in a namespace.
_PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{}/statefulsets",
    "Job": "/apis/batch/v1/namespaces/{}/jobs",
    "Pod": "/api/v1/namespaces/{}/pods",
}
#: Seconds between two reads of a rollout whose watches all stream (else ``poll``'s).
WATCHED_POLL = 2.0
#: A watch request ends after this long (the server closes it) and is made again: a
#: closed ``Changes`` stops its threads within that time.
WATCH_SECONDS = 5


def _http_of(client: Client) -> httpx2.Client | None:
    """The lightkube client's own HTTP client, when it shows it: a watch then reuses its
    TLS set-up and credentials (an exec plugin is not run again). Thread-safe: each watch
    holds a pooled connection of its own while it streams."""
    http = getattr(getattr(client, "_client", None), "_client", None)
    return http if isinstance(http, httpx2.Client) else None


class _Refused(Exception):
    """The API server will not let this client watch."""


class Changes:
    """Wakes a waiting loop the moment the API server reports a change to an object of
    the given kinds in a namespace: a watch per kind, each in a daemon thread on a
    connection of its own (no thread ever touches another's socket). A watch that fails
    (RBAC, a proxy that buffers) only leaves ``wait`` to its timeout: the caller polls."""

    def __init__(self, client: Client, namespace: str, kinds: list[str]):
        self._changed = threading.Event()
        self._kinds_changed: set[str] = set()
        self._stop = threading.Event()
        self._kinds = len(kinds)
        self._streaming: set[str] = set()  # paths whose watch request is answered
        for kind in kinds:
            path = _PATHS[kind].format(namespace)
            threading.Thread(
                target=self._watch, args=(client, kind, path), name=f"watch {kind}", daemon=True
            ).start()

    def __enter__(self) -> Changes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def wait(self, seconds: float) -> set[str]:
        """The kinds that changed since the last call, waiting up to ``seconds`` for one
        (empty: none did in that time)."""
        self._changed.wait(seconds)
        self._changed.clear()
        changed, self._kinds_changed = self._kinds_changed, set()
        return changed

    @property
    def watching(self) -> bool:
        """Whether every kind's watch is streaming (a change will wake ``wait``)."""
        return self._kinds > 0 and len(self._streaming) == self._kinds

    def close(self) -> None:
        self._stop.set()

    def _watch(self, client: Client, kind: str, path: str) -> None:
        shared = _http_of(client)
        try:
            http = shared or HttpClient(client.config, ConnectionParams())
        except Exception:  # no watch: the caller polls
            return
        version: str | None = None
        try:
            while not self._stop.is_set():
                try:
                    version = self._stream(http, kind, path, version)
                except _Refused:  # not allowed to watch: the caller polls
                    return
                except Exception:  # a broken watch: poll a moment, retry
                    self._streaming.discard(path)
                    if self._stop.wait(1.0):
                        return
                    version = None
        finally:
            if http is not shared:
                http.close()

    def _stream(self, http: httpx2.Client, kind: str, path: str, version: str | None) -> str | None:
        """One watch request, until the server ends it; the resourceVersion to go on from.
        Without one it starts at "0": the API server's cache as it is, an event per object
        (never "unset", which waits until the cache has caught up with the whole store:
        seconds, when nothing else of the kind changes). No bookmarks: with "0", an API
        server whose etcd cannot report watch progress refuses them."""
        params = {
            "watch": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
            "resourceVersion": version or "0",
        }
        timeout = httpx2.Timeout(10, read=WATCH_SECONDS + 30)
        with http.stream("GET", path, params=params, timeout=timeout) as response:
            if response.status_code in (401, 403, 404):
                raise _Refused(response.status_code)
            if response.status_code != 200:
                raise httpx2.HTTPStatusError("watch", request=response.request, response=response)
            self._streaming.add(path)
            for line in response.iter_lines():
                if self._stop.is_set():
                    return None
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":  # 410 Gone: too old a version
                    return None
                version = (event.get("object", {}).get("metadata") or {}).get("resourceVersion")
                self._kinds_changed.add(kind)
                self._changed.set()
        return version


#: Workloads are read as the API server's JSON: a typed lightkube model costs 10-20 ms
#: to decode the first time in a process, and a rollout reads a few fields.
Deployment = as_json(apps_v1.Deployment)
StatefulSet = as_json(apps_v1.StatefulSet)
ReplicaSet = as_json(apps_v1.ReplicaSet)


def _get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or None where a level is missing."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _done(client: Client, namespace: str, workload: Workload, pods: bool = True) -> bool:
    """Whether the workload is rolled out; raises ``RolloutFailed`` when it cannot be.
    Its pods are judged only with ``pods`` (none changed since the last look: no need)."""
    resource, ready = _READY[workload.kind]
    with api_errors(f"read {workload.kind} {workload.name}"):
        found = client.get(resource, workload.name, namespace=namespace)
    if ready(found):
        return True
    if not _observed(found):
        # The controller has not seen this spec yet: the revision, conditions and pods it
        # shows are the previous release's (a crashing one's, after a failed release).
        return False
    for condition in _get(found, "status", "conditions") or []:
        # Deployments only: a StatefulSet has no progress deadline.
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            raise RolloutFailed(
                _diagnose(client, namespace, workload, "progress deadline exceeded")
            )
    if not pods:
        return False
    now = datetime.now(UTC)
    if workload.kind == "StatefulSet":
        replace_stuck_old_pods(client, namespace, found, now)
    for pod in _new_pods(client, namespace, workload.kind, found):
        stuck = stuck_reason(pod, now) or _listening_elsewhere(client, namespace, pod, now)
        if stuck:
            raise RolloutFailed(_diagnose(client, namespace, workload, stuck, pod))
    return False


#: How long a started web container may take to print where it listens.
ANNOUNCE_GRACE = 5.0


def _listening_elsewhere(client: Client, namespace: str, pod: Any, now: datetime) -> str | None:
    """A started web pod that is not ready and whose log says it listens somewhere the
    probes and the Service cannot reach (127.0.0.1, another port): fails at once, with
    the fix, instead of after the startup probe's two minutes."""
    port = _http_port(pod)
    statuses = (pod.status.containerStatuses if pod.status else None) or []
    if port is None or not statuses or statuses[0].ready:
        return None
    running = statuses[0].state.running if statuses[0].state else None
    started = running.startedAt if running else None
    if started is None or (now - started).total_seconds() < ANNOUNCE_GRACE:
        return None
    problem = misbound(_log(client, namespace, pod, lines=200, previous=False), port)
    return f"pod {pod.metadata.name}: {problem}" if problem else None


def _http_port(pod: Any) -> int | None:
    for port in pod.spec.containers[0].ports or []:
        if port.name == "http":
            return int(port.containerPort)
    return None


def running(client: Client, namespace: str, workloads: list[Workload]) -> bool:
    """Whether every workload exists and is fully rolled out, right now."""
    with api_errors("check the running release"):
        for workload in workloads:
            resource, ready = _READY[workload.kind]
            found = get_or_none(client, resource, workload.name, namespace)
            if found is None or not ready(found):
                return False
    return True


def _observed(workload: Any) -> bool:
    """Whether the workload's controller has seen its current spec."""
    status = workload.get("status") or {}
    generation = _get(workload, "metadata", "generation") or 0
    return bool(status) and (status.get("observedGeneration") or 0) >= generation


def _deployment_ready(deploy: Any) -> bool:
    """Whether the controller has seen the Deployment's spec and all its replicas are
    updated and available, with no old one left (``kubectl rollout status``'s test)."""
    if not _observed(deploy):
        return False
    status = deploy["status"]
    replicas = _get(deploy, "spec", "replicas")
    want = replicas if replicas is not None else 1
    updated = status.get("updatedReplicas") or 0
    return (
        updated >= want
        and (status.get("availableReplicas") or 0) >= want
        and (status.get("replicas") or 0) <= updated
    )


def _statefulset_ready(sts: Any) -> bool:
    if not _observed(sts):
        return False
    status = sts["status"]
    replicas = _get(sts, "spec", "replicas")
    want = replicas if replicas is not None else 1
    return (status.get("readyReplicas") or 0) >= want and status.get(
        "currentRevision"
    ) == status.get("updateRevision")


#: Per workload kind: its resource (read as JSON), and whether one is fully rolled out.
_READY: dict[str, tuple[Any, Callable[[Any], bool]]] = {
    "Deployment": (Deployment, _deployment_ready),
    "StatefulSet": (StatefulSet, _statefulset_ready),
}

_REVISION = "deployment.kubernetes.io/revision"


def new_pods(client: Client, namespace: str, deploy: Any) -> list[Any]:
    """Pods of the Deployment's newest ReplicaSet (the release being rolled out)."""
    selector = _get(deploy, "spec", "selector", "matchLabels") or {}
    revision = (_get(deploy, "metadata", "annotations") or {}).get(_REVISION)
    replica_sets: list[Any] = list(client.list(ReplicaSet, namespace=namespace, labels=selector))
    sets = [rs for rs in replica_sets if _get(rs, "metadata", "annotations", _REVISION) == revision]
    if not sets:
        return []
    template_hash = _get(sets[0], "metadata", "labels", "pod-template-hash")
    return list(
        client.list(
            Pod, namespace=namespace, labels={**selector, "pod-template-hash": template_hash or ""}
        )
    )


def statefulset_pods(client: Client, namespace: str, sts: Any, current: bool = True) -> list[Any]:
    """Pods of the StatefulSet's update revision (the release being rolled out), or with
    ``current=False`` those of older revisions (``sts`` as the API server's JSON)."""
    revision = _get(sts, "status", "updateRevision")
    if not revision:
        return []
    selector = _get(sts, "spec", "selector", "matchLabels") or {}
    pods: list[Any] = list(client.list(Pod, namespace=namespace, labels=selector))
    label = "controller-revision-hash"
    return [p for p in pods if ((p.metadata.labels or {}).get(label) == revision) == current]


def replace_stuck_old_pods(client: Client, namespace: str, sts: Any, now: datetime) -> None:
    """A StatefulSet never replaces a pod of an older revision that cannot become ready
    (Kubernetes' documented "forced rollback"), so rolling back from a release whose addon
    pod is stuck would wait forever: such a pod is deleted, and made anew. Its data stays
    on its volume."""
    for pod in statefulset_pods(client, namespace, sts, current=False):
        if stuck_reason(pod, now):
            client.delete(Pod, pod.metadata.name, namespace=namespace)


def _new_pods(client: Client, namespace: str, kind: str, found: Any) -> list[Any]:
    if kind == "StatefulSet":
        return statefulset_pods(client, namespace, found)
    return new_pods(client, namespace, found)


def stuck_reason(pod: Any, now: datetime) -> str | None:
    """Why a new pod will not come up by itself (a crash loop, an image it cannot pull, a
    config error that has lasted), or None while it may still."""
    status = pod.status
    containers = [
        *((status.initContainerStatuses if status else None) or []),
        *((status.containerStatuses if status else None) or []),
    ]
    for container in containers:
        waiting = container.state.waiting if container.state else None
        if waiting and waiting.reason in STUCK and settled(pod, waiting.reason, now):
            return f"pod {pod.metadata.name}: {waiting.reason}"
        if (container.restartCount or 0) >= 2:
            return f"pod {pod.metadata.name}: restarted {container.restartCount} times"
    return None


def settled(pod: Any, reason: str, now: datetime | None = None) -> bool:
    created = pod.metadata.creationTimestamp
    if reason not in SETTLING or created is None:
        return True
    age: float = ((now or datetime.now(UTC)) - created).total_seconds()
    return age >= SETTLING[reason]


def _diagnose(
    client: Client, namespace: str, workload: Workload, summary: str, failing: Any = None
) -> str:
    """One line: the summary, the newest warning event, and the failing pod's last log
    (``failing``, else the first new pod of the workload)."""
    parts = [f"{workload.kind} {workload.name}: {summary}"]
    pods: list[Any] = [failing]
    if failing is None:
        resource, _ = _READY[workload.kind]
        found = client.get(resource, workload.name, namespace=namespace)
        pods = _new_pods(client, namespace, workload.kind, found)
    for pod in pods[:1]:
        event = _last_warning(client, namespace, pod.metadata.name)
        if event:
            parts.append(f"event: {event}")
        tail = pod_log_tail(client, namespace, pod)
        if tail:
            parts.append(f"log: {tail}")
    return "; ".join(parts)


#: Kubelet's "Error: ImagePullBackOff" only repeats the container's state.
_REPEATS_STATE = re.compile(r"Error: \w+")


def _last_warning(client: Client, namespace: str, pod: str) -> str | None:
    """The pod's newest warning event that says why ("Failed to pull image …: connection
    refused"), rather than one that repeats the state already named."""
    events = sorted(
        (
            e
            for e in client.list(Event, namespace=namespace, fields={"involvedObject.name": pod})
            if e.type == "Warning"
        ),
        key=lambda e: str(e.lastTimestamp or e.eventTime or ""),
    )
    telling = [e for e in events if not _REPEATS_STATE.fullmatch(e.message or "")] or events
    if not telling:
        return None
    last = telling[-1]
    return f"{last.reason}: {_shorten(' '.join((last.message or '').split()))}"


def _shorten(text: str, limit: int = 300) -> str:
    """A long message keeps its start (what failed) and its end (the root cause)."""
    if len(text) <= limit:
        return text
    return f"{text[:120]} … {text[-(limit - 123) :]}"


def pod_log_tail(client: Client, namespace: str, pod: Any, lines: int = 5) -> str:
    """The last log lines of a pod's first container (its previous run if it crashed)."""
    for previous in (True, False):
        text = _log(client, namespace, pod, lines, previous)
        if text.strip():
            return " | ".join(line.strip() for line in text.splitlines()[-lines:])[:400]
    return ""


def _log(client: Client, namespace: str, pod: Any, lines: int, previous: bool) -> str:
    """The last ``lines`` of the first container's log; empty when there is none."""
    container = pod.spec.containers[0].name
    try:
        return "".join(
            read_log(
                client, pod.metadata.name, namespace, container, tail_lines=lines, previous=previous
            )
        )
    except (ApiError, httpx2.HTTPError):  # no previous run, or it never started
        return ""


def wait_job(client: Client, namespace: str, name: str, timeout: float, poll: float = 0.5) -> None:
    """Wait for a Job to succeed (the release phase); its failure says why, with its log."""
    deadline = time.monotonic() + timeout
    with Changes(client, namespace, ["Job"]) as changes:
        while time.monotonic() < deadline:
            with api_errors(f"read Job {name}"):
                job: Any = client.get(Job, name, namespace=namespace)
            status = job.status
            if status and (status.succeeded or 0) > 0:
                return
            if status and (status.failed or 0) > 0:
                pods: list[Any] = list(
                    client.list(Pod, namespace=namespace, labels={"job-name": name})
                )
                tail = pod_log_tail(client, namespace, pods[0]) if pods else ""
                raise RolloutFailed(
                    f"the release command (Job {name}) failed{'; log: ' + tail if tail else ''}"
                )
            changes.wait(min(poll, max(deadline - time.monotonic(), 0.0)))
    raise RolloutFailed(f"the release command (Job {name}) did not finish in {timeout:.0f} s")
