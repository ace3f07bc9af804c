"""Waiting for a rollout: readiness read from the API server's JSON, a wait that wakes on
a watch event rather than a poll's next tick, and the work done while pods start. What
needs a cluster (the real watch, real pods) is tested in tests/e2e/test_deploy.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Pod

from shipway.kube import rollout
from shipway.kube.rollout import Changes, Workload, wait


def deployment(generation: int = 2, observed: int = 2, **status: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": generation, "annotations": {}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("found", "ready"),
    [
        (deployment(updatedReplicas=2, availableReplicas=2, replicas=2), True),
        # The controller has not seen the new spec yet: its status is the old release's.
        (deployment(observed=1, updatedReplicas=2, availableReplicas=2, replicas=2), False),
        # An old pod is still counted: not rolled out.
        (deployment(updatedReplicas=2, availableReplicas=2, replicas=3), False),
        (deployment(updatedReplicas=2, availableReplicas=1, replicas=2), False),
        ({"metadata": {"name": "web", "generation": 1}, "spec": {}}, False),
    ],
)
def test_a_deployment_is_ready_as_kubectl_rollout_status_says(
    found: dict[str, Any], ready: bool
) -> None:
    assert rollout._deployment_ready(found) is ready


def test_a_statefulset_is_ready_once_its_pods_run_the_update_revision() -> None:
    sts: dict[str, Any] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "readyReplicas": 1, "updateRevision": "r2"},
    }
    assert not rollout._statefulset_ready(
        {**sts, "status": {**sts["status"], "currentRevision": "r1"}}
    )
    assert rollout._statefulset_ready({**sts, "status": {**sts["status"], "currentRevision": "r2"}})


def http(*lines: str, status: int = 200) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params["watch"] == "true"
        assert request.url.params["resourceVersion"] == "0"  # never "unset": see _stream

        def body() -> Iterator[bytes]:
            for line in lines:
                yield (line + "\n").encode()

        return httpx2.Response(status, content=body())

    return httpx2.Client(transport=httpx2.MockTransport(handler), base_url="https://k8s")


def test_a_watch_event_wakes_the_waiting_loop() -> None:
    changes = Changes(None, "ns", [])  # type: ignore[arg-type]  # no thread: driven here
    assert changes.wait(0) == set()
    event = '{"type": "MODIFIED", "object": {"metadata": {"resourceVersion": "42"}}}'
    path = "/apis/apps/v1/namespaces/ns/deployments"
    assert changes._stream(http(event), "Deployment", path, None) == "42"
    assert changes.wait(0) == {"Deployment"}
    assert changes.wait(0) == set()  # once per batch of events


def test_a_watch_too_old_to_resume_starts_afresh() -> None:
    changes = Changes(None, "ns", [])  # type: ignore[arg-type]
    gone = '{"type": "ERROR", "object": {"kind": "Status", "code": 410}}'
    path = "/apis/apps/v1/namespaces/ns/deployments"
    assert changes._stream(http(gone), "Deployment", path, None) is None
    assert changes.wait(0) == set()


def test_a_refused_watch_leaves_the_loop_to_poll() -> None:
    changes = Changes(None, "ns", [])  # type: ignore[arg-type]
    with pytest.raises(rollout._Refused):
        changes._stream(http(status=403), "Pod", "/api/v1/namespaces/ns/pods", None)


class Cluster:
    """A Deployment that becomes ready on the ``ready_after``-th read. It has no kubeconfig,
    so no watch can start: ``wait`` polls, as with a cluster that forbids watching."""

    def __init__(self, ready_after: int):
        self.reads, self.ready_after = 0, ready_after

    def get(self, resource: Any, name: str, namespace: str) -> dict[str, Any]:
        assert resource is rollout.Deployment and (name, namespace) == ("web", "ns")
        self.reads += 1
        if self.reads >= self.ready_after:
            return deployment(updatedReplicas=2, availableReplicas=2, replicas=2)
        return deployment(updatedReplicas=1, availableReplicas=2, replicas=3)

    def list(self, resource: Any, namespace: str, labels: dict[str, str]) -> list[Any]:
        return []  # no ReplicaSet of the new revision yet: no new pod to judge


def test_meanwhile_runs_once_while_the_new_pods_start() -> None:
    cluster, done = Cluster(ready_after=3), []
    start = time.monotonic()
    wait(
        cluster,  # type: ignore[arg-type]
        "ns",
        [Workload("Deployment", "web")],
        timeout=10,
        poll=0.01,
        meanwhile=lambda: done.append(cluster.reads),
    )
    assert done == [1] and cluster.reads == 3
    assert time.monotonic() - start < 5


def test_meanwhile_runs_when_nothing_had_to_start() -> None:
    cluster, done = Cluster(ready_after=1), []
    wait(
        cluster,  # type: ignore[arg-type]
        "ns",
        [Workload("Deployment", "web")],
        timeout=10,
        meanwhile=lambda: done.append(cluster.reads),
    )
    assert done == [1]


class AfterAFailedRelease:
    """Just after a rollback's apply: the controller has not yet seen the new spec, so the
    Deployment still names the failed release's revision, whose pod crash-loops."""

    def __init__(self) -> None:
        self.pod_lists = 0

    def get(self, resource: Any, name: str, namespace: str) -> dict[str, Any]:
        found = deployment(generation=4, observed=3, updatedReplicas=2, availableReplicas=2)
        found["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
        return found

    def list(self, resource: Any, namespace: str, labels: dict[str, str]) -> list[Any]:
        if resource is rollout.ReplicaSet:
            meta = {"annotations": {"deployment.kubernetes.io/revision": "3"}, "labels": {}}
            return [{"metadata": {**meta, "labels": {"pod-template-hash": "abc"}}}]
        self.pod_lists += 1
        return [crashing_pod()]


def crashing_pod() -> Pod:
    container = {"name": "web", "image": "x", "imageID": "", "ready": False, "restartCount": 3}
    return Pod.from_dict(
        {"metadata": {"name": "web-abc-1"}, "status": {"containerStatuses": [container]}}
    )


def test_pods_are_judged_only_once_the_controller_has_seen_the_new_spec() -> None:
    """Else a rollback would fail on the pods of the release it rolls back from."""
    cluster = AfterAFailedRelease()
    assert not rollout._done(cluster, "ns", Workload("Deployment", "web"))  # type: ignore[arg-type]
    assert cluster.pod_lists == 0


def test_pods_are_judged_when_they_may_have_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash loop fails the rollout; a wake-up by a Deployment event alone skips them."""
    monkeypatch.setattr(rollout, "_diagnose", lambda _c, _ns, _w, summary, _pod=None: summary)
    cluster = AfterAFailedRelease()
    cluster.get = lambda *_args, **_kw: {  # type: ignore[method-assign]
        **deployment(generation=4, observed=4, updatedReplicas=1, replicas=3),
        "metadata": {"generation": 4, "annotations": {"deployment.kubernetes.io/revision": "3"}},
    }
    web = Workload("Deployment", "web")
    assert not rollout._done(cluster, "ns", web, pods=False)  # type: ignore[arg-type]
    with pytest.raises(rollout.RolloutFailed, match="restarted 3 times"):
        rollout._done(cluster, "ns", web)  # type: ignore[arg-type]


def test_a_watch_reuses_the_clients_connection_pool() -> None:
    """No second TLS set-up, no second run of an exec credential plugin; a client that
    does not show its pool (a fake, a future lightkube) gets a connection of its own."""
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    assert isinstance(rollout._http_of(Client(config)), httpx2.Client)
    assert rollout._http_of(Cluster(ready_after=1)) is None  # type: ignore[arg-type]
