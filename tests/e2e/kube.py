"""Helpers of the e2e tests: what the cluster is, waiting on it, and dumping a namespace.

Every wait has a deadline and, when it runs out, says what it waited for and what it saw
last, so a failing test explains itself before the namespace dump is even read.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lightkube import ApiError, Client, codecs
from lightkube.resources.core_v1 import Event, Pod

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its admin kubeconfig, the registry it pulls from, a kubectl."""

    kubeconfig: Path
    registry: str | None  # HOST:PORT, plain HTTP on 127.0.0.1 for the harness's cluster
    kubectl: Path

    def run_kubectl(
        self, *args: str | Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def create(kube: Client, namespace: str, manifest: dict[str, Any]) -> None:
    """Create a namespaced object written as a plain manifest."""
    obj: Any = codecs.from_dict(manifest)
    kube.create(obj, namespace=namespace)


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float = 120, every: float = 0.5
) -> T:
    """Call ``check`` until it returns something truthy (not None, False or empty); return it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
        except ApiError as exc:
            result, last = None, exc
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
            )
        time.sleep(every)


def name_of(obj: Any) -> str:
    """``obj.metadata.name`` of an object read from the API (where both are always set)."""
    name: str = obj.metadata.name
    return name


def pod_ready(pod: Pod) -> bool:
    conditions = pod.status.conditions if pod.status and pod.status.conditions else []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def ready_pods(kube: Client, namespace: str, selector: dict[str, str]) -> list[Pod]:
    pods = kube.list(Pod, namespace=namespace, labels=selector)  # type: ignore[arg-type]
    return [p for p in pods if pod_ready(p) and p.metadata and not p.metadata.deletionTimestamp]


def pod_finished(kube: Client, namespace: str, name: str) -> str | None:
    """The phase of a pod that ran to its end (Succeeded or Failed), else None."""
    pod = kube.get(Pod, name, namespace=namespace)
    phase = pod.status.phase if pod.status else None
    return phase if phase in ("Succeeded", "Failed") else None


def pod_log(kube: Client, namespace: str, name: str, container: str | None = None) -> str:
    return "".join(kube.log(name, namespace=namespace, container=container))


def dump_namespace(kube: Client, namespace: str) -> str:
    """Events, pods and every container's log of ``namespace``, for a failed test's report."""
    out = [f"\n===== namespace {namespace}: events ====="]
    try:
        events = sorted(
            kube.list(Event, namespace=namespace),
            key=lambda e: str(
                e.lastTimestamp or e.eventTime or (e.metadata and e.metadata.creationTimestamp)
            ),
        )
        for e in events:
            obj = e.involvedObject
            out.append(
                f"{e.lastTimestamp or e.eventTime} {e.type} {obj.kind}/{obj.name} {e.reason}: {e.message}"
            )
        for pod in kube.list(Pod, namespace=namespace):
            assert pod.metadata and pod.metadata.name and pod.spec
            status = pod.status
            out.append(f"===== pod {pod.metadata.name}: {status.phase if status else '?'} =====")
            for cs in (status.containerStatuses or []) if status else []:
                out.append(
                    f"  {cs.name}: ready={cs.ready} restarts={cs.restartCount} state={cs.state}"
                )
            for container in pod.spec.containers:
                try:
                    log = pod_log(kube, namespace, pod.metadata.name, container.name)
                except ApiError as exc:
                    log = f"(no log: {exc})"
                out.append(f"----- {pod.metadata.name}/{container.name} log -----\n{log}")
    except ApiError as exc:
        out.append(f"(dump failed: {exc})")
    return "\n".join(out) + "\n"
