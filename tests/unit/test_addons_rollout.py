"""Addon pods fail a rollout at once, as app pods do: one check on the pods' status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lightkube.resources.core_v1 import Pod

from shipway.kube.rollout import replace_stuck_old_pods, statefulset_pods, stuck_reason

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def pod(
    waiting: str | None = None,
    restarts: int = 0,
    age: float = 60,
    init: bool = False,
    labels: dict[str, str] | None = None,
) -> Pod:
    """A pod as the API server returns it, its one container waiting for ``waiting``."""
    state = {"waiting": {"reason": waiting, "message": "back-off"}} if waiting else {"running": {}}
    container = {
        "name": "postgresql",
        "image": "reg:5000/mirror/postgres:16",
        "imageID": "",
        "ready": False,
        "restartCount": restarts,
        "state": state,
    }
    created = (NOW - timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Pod.from_dict(
        {
            "metadata": {
                "name": "shop-postgresql-0",
                "creationTimestamp": created,
                "labels": labels or {},
            },
            "status": {"initContainerStatuses" if init else "containerStatuses": [container]},
        }
    )


@pytest.mark.parametrize(
    ("reason", "age"),
    [
        ("ErrImagePull", 1),
        ("ImagePullBackOff", 1),
        ("CrashLoopBackOff", 1),
        ("InvalidImageName", 1),
        ("CreateContainerConfigError", 31),
    ],
)
def test_a_pod_that_will_not_start_is_stuck_with_its_reason(reason: str, age: float) -> None:
    assert stuck_reason(pod(reason, age=age), NOW) == f"pod shop-postgresql-0: {reason}"


def test_an_init_container_counts_too() -> None:
    assert (
        stuck_reason(pod("ErrImagePull", init=True), NOW) == "pod shop-postgresql-0: ErrImagePull"
    )


def test_a_server_that_keeps_restarting_is_stuck() -> None:
    """A crash between two back-offs shows as running: its restarts tell."""
    assert stuck_reason(pod(restarts=2), NOW) == "pod shop-postgresql-0: restarted 2 times"


@pytest.mark.parametrize(
    "waiting",
    [
        pod("ContainerCreating"),
        pod("PodInitializing"),
        pod(restarts=1),
        pod("CreateContainerConfigError", age=5),  # the kubelet's Secret cache may catch up
        Pod.from_dict({"metadata": {"name": "p"}}),  # not scheduled yet: no status
    ],
)
def test_a_pod_that_may_still_come_up_is_not_stuck(waiting: Pod) -> None:
    assert stuck_reason(waiting, NOW) is None


class Pods:
    """The pods of a namespace, listed by label as the API server does."""

    def __init__(self, *pods: Pod):
        self.pods = list(pods)

    def list(self, resource: Any, namespace: str, labels: dict[str, str]) -> list[Pod]:
        assert resource is Pod
        return [p for p in self.pods if labels.items() <= (p.metadata.labels or {}).items()]

    def delete(self, resource: Any, name: str, namespace: str) -> None:
        assert resource is Pod
        self.pods = [p for p in self.pods if p.metadata.name != name]


def statefulset(update_revision: str | None) -> dict[str, Any]:
    """A StatefulSet as the API server's JSON (the rollout reads workloads untyped)."""
    selector = {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/component": "postgresql"}
    status = {"replicas": 1, **({"updateRevision": update_revision} if update_revision else {})}
    return {
        "metadata": {"name": "shop-postgresql"},
        "spec": {"selector": {"matchLabels": selector}, "serviceName": "x", "template": {}},
        "status": status,
    }


BASE = {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/component": "postgresql"}


def revision(n: int) -> dict[str, str]:
    return {**BASE, "controller-revision-hash": f"shop-postgresql-{n}"}


def test_only_the_pods_of_the_update_revision_are_judged() -> None:
    """The old revision's pod is the previous release's; the new one is this release's."""
    old = pod(restarts=5, labels=revision(1))
    new = pod("ErrImagePull", labels=revision(2))
    other = pod("ErrImagePull", labels={"controller-revision-hash": "shop-postgresql-2"})
    client: Any = Pods(old, new, other)
    assert statefulset_pods(client, "shop", statefulset("shop-postgresql-2")) == [new]
    assert statefulset_pods(client, "shop", statefulset("shop-postgresql-2"), current=False) == [
        old
    ]
    assert statefulset_pods(client, "shop", statefulset(None)) == []


def test_rolling_back_replaces_a_stuck_pod_of_the_failed_revision() -> None:
    """The controller would wait for it forever; a healthy old pod is its to replace."""
    stuck = pod("ImagePullBackOff", labels=revision(2))
    client: Any = Pods(stuck)
    replace_stuck_old_pods(client, "shop", statefulset("shop-postgresql-1"), NOW)
    assert client.pods == []
    healthy = pod(labels=revision(2))
    client = Pods(healthy)
    replace_stuck_old_pods(client, "shop", statefulset("shop-postgresql-1"), NOW)
    assert client.pods == [healthy]
