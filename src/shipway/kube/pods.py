"""Pods as users see them: the app's processes (``ps``), their logs, and one-off runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import Client, codecs
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

from shipway.errors import ShipwayError
from shipway.kube.client import api_errors
from shipway.kube.logs import read_log
from shipway.objects import LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, RELEASE, Obj


@dataclass(frozen=True)
class ProcessPod:
    name: str
    process: str
    phase: str
    ready: bool
    restarts: int
    image: str
    started: str
    release: str  # vN, from the pod's annotation ("-" for pods Shipway did not release)


def app_pods(client: Client, namespace: str, app: str) -> list[ProcessPod]:
    labels: dict[str, Any] = {LABEL_INSTANCE: app, LABEL_NAME: app}
    with api_errors(f"list the pods of {app}"):
        pods: list[Any] = list(client.list(Pod, namespace=namespace, labels=labels))
    found = []
    for pod in pods:
        statuses = (pod.status.containerStatuses if pod.status else None) or []
        found.append(
            ProcessPod(
                name=pod.metadata.name,
                process=(pod.metadata.labels or {}).get(LABEL_COMPONENT, "?"),
                phase=_phase(pod, statuses),
                ready=bool(statuses) and all(s.ready for s in statuses),
                restarts=sum(s.restartCount or 0 for s in statuses),
                image=pod.spec.containers[0].image if pod.spec else "",
                started=str(pod.status.startTime or "") if pod.status else "",
                release=_release(pod),
            )
        )
    return sorted(found, key=lambda p: (p.process, p.name))


def _release(pod: Any) -> str:
    number = (pod.metadata.annotations or {}).get(RELEASE)
    return f"v{number}" if number else "-"


def _phase(pod: Any, statuses: list[Any]) -> str:
    if pod.metadata.deletionTimestamp:
        return "Terminating"
    for status in statuses:
        waiting = status.state.waiting if status.state else None
        if waiting and waiting.reason:
            return str(waiting.reason)
    return str(pod.status.phase if pod.status else "Unknown")


def stream_logs(
    client: Client,
    namespace: str,
    pods: list[ProcessPod],
    follow: bool,
    tail: int | None,
    emit: Callable[[str, str], None],
) -> None:
    """Every pod's log, each line given to ``emit(pod, line)``; with ``follow``, until
    interrupted, reading all pods at once."""

    def one(pod: ProcessPod) -> None:
        try:
            for line in read_log(client, pod.name, namespace, tail_lines=tail, follow=follow):
                emit(pod.name, line.rstrip("\n"))
        except (ApiError, httpx2.HTTPError):
            return  # the pod went away or has not started: nothing to show

    threads = [threading.Thread(target=one, args=(pod,), daemon=True) for pod in pods]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


class OneOff:
    """A one-off pod (``shipway run``): started, followed, its exit code read, removed."""

    def __init__(self, client: Client, pod: Obj):
        self.client = client
        self.pod = pod
        self.name = pod["metadata"]["name"]
        self.namespace = pod["metadata"]["namespace"]
        self.exit_code: int | None = None

    def run(self, emit: Callable[[str], None], timeout: float) -> int:
        with api_errors(f"start the one-off pod {self.name}"):
            self.client.create(codecs.from_dict(self.pod))
        try:
            with api_errors(f"follow the one-off pod {self.name}"):
                self._wait_started(timeout)
                for line in read_log(self.client, self.name, self.namespace, follow=True):
                    emit(line.rstrip("\n"))
                return self._exit_code(timeout)
        finally:
            self._delete()

    def _wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod: Any = self.client.get(Pod, self.name, namespace=self.namespace)
            status = pod.status
            if status and status.phase in ("Running", "Succeeded", "Failed"):
                return
            for container in (status.containerStatuses if status else None) or []:
                waiting = container.state.waiting if container.state else None
                if waiting and waiting.reason in (
                    "ErrImagePull",
                    "ImagePullBackOff",
                    "CreateContainerConfigError",
                ):
                    raise _run_error(f"{waiting.reason}: {waiting.message or ''}")
            time.sleep(0.5)
        raise _run_error(f"did not start within {timeout:.0f} s")

    def _exit_code(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod: Any = self.client.get(Pod, self.name, namespace=self.namespace)
            for container in (pod.status.containerStatuses if pod.status else None) or []:
                terminated = container.state.terminated if container.state else None
                if terminated is not None:
                    return int(terminated.exitCode)
            time.sleep(0.3)
        raise _run_error("finished its output but never reported an exit code")

    def _delete(self) -> None:
        with contextlib.suppress(ApiError, httpx2.HTTPError):  # already gone
            self.client.delete(Pod, self.name, namespace=self.namespace, grace_period=0)


def _run_error(detail: str) -> ShipwayError:
    return ShipwayError(f"the one-off pod {detail}")
