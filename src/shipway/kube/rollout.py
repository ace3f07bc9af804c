"""Waiting for a release's workloads to roll out, and saying why when they do not.

A rollout succeeds when every Deployment's controller has seen the new spec and all its
replicas are updated and available (and every addon StatefulSet is ready). It fails as
soon as a new pod cannot start (crash loop, image pull error; a config error once the pod
is 30 s old, as the kubelet reports one briefly while it syncs Secrets), on
``ProgressDeadlineExceeded``, or at the timeout; the reason carries the pod's events and
the last lines of its log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment, ReplicaSet, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event, Pod

from shipway.errors import ShipwayError
from shipway.kube.client import api_errors, get_or_none
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
    client: Client, namespace: str, workloads: list[Workload], timeout: float, poll: float = 0.5
) -> None:
    deadline = time.monotonic() + timeout
    pending = list(workloads)
    with api_errors("follow the rollout"):
        while pending:
            pending = [w for w in pending if not _done(client, namespace, w)]
            if not pending:
                return
            if time.monotonic() > deadline:
                summary = f"not ready after {timeout:.0f} s"
                raise RolloutFailed(_diagnose(client, namespace, pending[0], summary))
            time.sleep(poll)


def _done(client: Client, namespace: str, workload: Workload) -> bool:
    resource, ready = _READY[workload.kind]
    with api_errors(f"read {workload.kind} {workload.name}"):
        found = client.get(resource, workload.name, namespace=namespace)
    if ready(found):
        return True
    if workload.kind == "StatefulSet":
        return False  # an addon: its readiness is all there is to wait for
    for condition in (found.status.conditions if found.status else None) or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            raise RolloutFailed(
                _diagnose(client, namespace, workload, "progress deadline exceeded")
            )
    stuck = _stuck_pod(client, namespace, found)
    if stuck:
        raise RolloutFailed(_diagnose(client, namespace, workload, stuck))
    return False


def running(client: Client, namespace: str, workloads: list[Workload]) -> bool:
    """Whether every workload exists and is fully rolled out, right now."""
    with api_errors("check the running release"):
        for workload in workloads:
            resource, ready = _READY[workload.kind]
            found = get_or_none(client, resource, workload.name, namespace)
            if found is None or not ready(found):
                return False
    return True


def _deployment_ready(deploy: Any) -> bool:
    spec, status = deploy.spec, deploy.status
    if status is None or (status.observedGeneration or 0) < (deploy.metadata.generation or 0):
        return False
    want = spec.replicas if spec.replicas is not None else 1
    return (
        (status.updatedReplicas or 0) >= want
        and (status.availableReplicas or 0) >= want
        and (status.replicas or 0) <= (status.updatedReplicas or 0)
    )


def _statefulset_ready(sts: Any) -> bool:
    status = sts.status
    if status is None or (status.observedGeneration or 0) < (sts.metadata.generation or 0):
        return False
    want = sts.spec.replicas if sts.spec.replicas is not None else 1
    return (status.readyReplicas or 0) >= want and status.currentRevision == status.updateRevision


#: Per workload kind: its resource, and whether one is fully rolled out.
_READY: dict[str, tuple[Any, Callable[[Any], bool]]] = {
    "Deployment": (Deployment, _deployment_ready),
    "StatefulSet": (StatefulSet, _statefulset_ready),
}


def new_pods(client: Client, namespace: str, deploy: Any) -> list[Any]:
    """Pods of the Deployment's newest ReplicaSet (the release being rolled out)."""
    selector = deploy.spec.selector.matchLabels or {}
    revision = (deploy.metadata.annotations or {}).get("deployment.kubernetes.io/revision")
    replica_sets: list[Any] = list(client.list(ReplicaSet, namespace=namespace, labels=selector))
    sets = [
        rs
        for rs in replica_sets
        if (rs.metadata.annotations or {}).get("deployment.kubernetes.io/revision") == revision
    ]
    if not sets:
        return []
    template_hash = (sets[0].metadata.labels or {}).get("pod-template-hash")
    return list(
        client.list(
            Pod, namespace=namespace, labels={**selector, "pod-template-hash": template_hash or ""}
        )
    )


def _stuck_pod(client: Client, namespace: str, deploy: Any) -> str | None:
    for pod in new_pods(client, namespace, deploy):
        for status in (pod.status.containerStatuses if pod.status else None) or []:
            waiting = status.state.waiting if status.state else None
            if waiting and waiting.reason in STUCK and settled(pod, waiting.reason):
                return f"pod {pod.metadata.name}: {waiting.reason}"
            if (status.restartCount or 0) >= 2:
                return f"pod {pod.metadata.name}: restarted {status.restartCount} times"
    return None


def settled(pod: Any, reason: str) -> bool:
    created = pod.metadata.creationTimestamp
    if reason not in SETTLING or created is None:
        return True
    age: float = (datetime.now(UTC) - created).total_seconds()
    return age >= SETTLING[reason]


def _diagnose(client: Client, namespace: str, workload: Workload, summary: str) -> str:
    """One line: the summary, the newest warning event, and the failing pod's last log."""
    parts = [f"{workload.kind} {workload.name}: {summary}"]
    pods: list[Any] = []
    if workload.kind == "Deployment":
        deploy = client.get(Deployment, workload.name, namespace=namespace)
        pods = new_pods(client, namespace, deploy)
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
    container = pod.spec.containers[0].name
    for previous in (True, False):
        try:
            text = "".join(
                read_log(
                    client,
                    pod.metadata.name,
                    namespace,
                    container,
                    tail_lines=lines,
                    previous=previous,
                )
            )
        except (ApiError, httpx2.HTTPError):  # no previous run, or it never started
            continue
        if text.strip():
            return " | ".join(line.strip() for line in text.splitlines()[-lines:])[:400]
    return ""


def wait_job(client: Client, namespace: str, name: str, timeout: float, poll: float = 0.5) -> None:
    """Wait for a Job to succeed (the release phase); its failure says why, with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with api_errors(f"read Job {name}"):
            job: Any = client.get(Job, name, namespace=namespace)
        status = job.status
        if status and (status.succeeded or 0) > 0:
            return
        if status and (status.failed or 0) > 0:
            pods: list[Any] = list(client.list(Pod, namespace=namespace, labels={"job-name": name}))
            tail = pod_log_tail(client, namespace, pods[0]) if pods else ""
            raise RolloutFailed(
                f"the release command (Job {name}) failed{'; log: ' + tail if tail else ''}"
            )
        time.sleep(poll)
    raise RolloutFailed(f"the release command (Job {name}) did not finish in {timeout:.0f} s")
