"""Running a Job of one pod to its end: created, its pod's log followed line by line, its
outcome read from the Job's status, then deleted with its pod (the build Jobs of
``shipway.buildjob``; the release phase's Job stays, see ``rollout.wait_job``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import Client, codecs
from lightkube.core.exceptions import ApiError
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod
from lightkube.types import CascadeType

from shipway.kube.client import api_errors
from shipway.kube.logs import read_log
from shipway.objects import Obj

#: A pod waiting for one of these will not start by itself.
STUCK = ("ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName")


@dataclass(frozen=True)
class JobEnd:
    succeeded: bool
    #: Why it failed, in a few words (``DeadlineExceeded``, ``OOMKilled``, …); "" if not.
    reason: str = ""


def run_job(
    client: Client,
    job: Obj,
    emit: Callable[[str], None],
    timeout: float,
    created: Callable[[str], None] = lambda _uid: None,
) -> JobEnd:
    """Create ``job`` (``created`` gets its uid), give each line its pod logs to ``emit``,
    and wait (at most ``timeout`` seconds in all) for it to succeed or fail; the Job and
    its pod are deleted whatever happens."""
    name, namespace = job["metadata"]["name"], job["metadata"]["namespace"]
    deadline = time.monotonic() + timeout
    with api_errors(f"start the build Job {name}"):
        made: Any = client.create(codecs.from_dict(job))
    try:
        created(str(made.metadata.uid))
        with api_errors(f"follow the build Job {name}"):
            pod = _started_pod(client, name, namespace, deadline)
            if isinstance(pod, JobEnd):
                return pod
            with contextlib.suppress(httpx2.HTTPError):  # cut off: the status says why
                for line in read_log(client, pod, namespace, follow=True):
                    emit(line.rstrip("\n"))
            return _outcome(client, name, namespace, pod, deadline)
    finally:
        with contextlib.suppress(ApiError, httpx2.HTTPError):  # already gone
            client.delete(Job, name, namespace=namespace, cascade=CascadeType.BACKGROUND)


def _started_pod(client: Client, name: str, namespace: str, deadline: float) -> str | JobEnd:
    """The name of the Job's pod once it runs (or has run); the Job's end if it ended
    before that (its deadline), a ``JobEnd`` with the reason if it cannot start."""
    while time.monotonic() < deadline:
        pods: list[Any] = list(client.list(Pod, namespace=namespace, labels={"job-name": name}))
        for pod in pods:
            status = pod.status
            if status and status.phase in ("Running", "Succeeded", "Failed"):
                return str(pod.metadata.name)
            for container in (status.containerStatuses if status else None) or []:
                waiting = container.state.waiting if container.state else None
                if waiting and waiting.reason in STUCK:
                    return JobEnd(False, f"{waiting.reason}: {(waiting.message or '')[:200]}")
        ended = _job_end(client.get(Job, name, namespace=namespace))
        if ended is not None:
            return ended
        time.sleep(0.5)
    return JobEnd(False, "did not start in time")


def _outcome(client: Client, name: str, namespace: str, pod: str, deadline: float) -> JobEnd:
    while True:
        ended = _job_end(client.get(Job, name, namespace=namespace))
        if ended is not None:
            if not ended.succeeded and ended.reason in ("", "BackoffLimitExceeded"):
                return JobEnd(False, _pod_reason(client, pod, namespace))
            return ended
        if time.monotonic() > deadline:
            return JobEnd(False, "DeadlineExceeded")
        time.sleep(0.3)


def _job_end(job: Any) -> JobEnd | None:
    status = job.status
    if status is None:
        return None
    for condition in status.conditions or []:
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return JobEnd(True)
        if condition.type == "Failed":
            return JobEnd(False, str(condition.reason or ""))
    return None


def _pod_reason(client: Client, pod: str, namespace: str) -> str:
    """Why the pod's container stopped (``OOMKilled``, ``exit code 1``)."""
    with contextlib.suppress(ApiError, httpx2.HTTPError):
        found: Any = client.get(Pod, pod, namespace=namespace)
        for container in (found.status.containerStatuses if found.status else None) or []:
            ended = container.state.terminated if container.state else None
            if ended is not None:
                if ended.reason and ended.reason != "Error":
                    return str(ended.reason)
                return f"exit code {ended.exitCode}"
    return "failed"
