"""The pure parts of deploying: platform settings, formations, release records, one-off
pods. What needs a cluster is tested in tests/e2e."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from shipway import project
from shipway.errors import ShipwayError
from shipway.kube.rollout import settled
from shipway.platform import Platform, update
from shipway.releases import Release, same_run
from shipway.releasing import with_formation, workloads
from shipway.render import RenderOptions, render, secrets_needed
from shipway.render.app import AppContext, one_off_pod
from tests.conftest import EXAMPLES
from tests.helpers.pss import violations


def test_platform_update() -> None:
    start = Platform()
    changed = update(
        start,
        {
            "registry": "127.0.0.1:5000",
            "addon_images.mongodb": "reg/ferretdb",
            "insecure_registry": "true",
        },
    )
    assert changed.registry == "127.0.0.1:5000"
    assert changed.addon_images == {"mongodb": "reg/ferretdb"}
    assert changed.insecure_registry is True
    reset = update(changed, {"addon_images.mongodb": "", "registry": ""})
    assert reset.addon_images == {} and reset.registry is None
    with pytest.raises(ShipwayError, match="platform: unknown setting 'registy'; use one of"):
        update(start, {"registy": "x"})


def test_platform_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_REGISTRY", "10.1.2.3:5000")
    assert Platform(registry="127.0.0.1:5000").with_env().registry == "10.1.2.3:5000"


def test_formation_overrides_replicas() -> None:
    plan = project.load(EXAMPLES / "notes-heroku").plan
    scaled = with_formation(plan, {"worker": 3})
    assert scaled.processes["worker"].replicas == 3
    assert scaled.processes["web"].replicas == plan.processes["web"].replicas == 2


def _release() -> Release:
    proj = project.load(EXAMPLES / "tasks")
    return Release(
        version=3,
        description="Deploy abc",
        image="r/tasks@sha256:" + "a" * 64,
        spec=proj.spec,
        plan=proj.plan,
        expose="nodeport",
        config_hash="",
        created="2026-01-01T00:00:00Z",
        by="me@here",
    )


def test_release_round_trips_through_json() -> None:
    release = _release()
    body = json.dumps(release.model_dump(mode="json", exclude={"status"}))
    assert Release.model_validate(json.loads(body)) == release


def test_same_run_ignores_bookkeeping_not_what_runs() -> None:
    release = _release()
    later = release.model_copy(
        update={"version": 4, "description": "Deploy def", "created": "2026-01-02T00:00:00Z"}
    )
    assert same_run(release, later)
    for change in (
        {"image": "r/tasks@sha256:" + "b" * 64},
        {"config_hash": "0123456789abcdef"},
        {"expose": "clusterip"},
        {"addon_repositories": {"mongodb": "mirror/mongo"}},
        {"spec": release.spec.model_copy(update={"port": 8000})},
    ):
        assert not same_run(release, later.model_copy(update=change)), change


def _objects(example: str) -> tuple[project.Project, list[dict]]:
    proj = project.load(EXAMPLES / example)
    creds = {name: "x" for name in secrets_needed(proj.spec)}
    return proj, render(proj.spec, proj.plan, RenderOptions(image="img:1"), creds)


def test_workloads_to_wait_for() -> None:
    _, objects = _objects("notes-heroku")
    assert {(w.kind, w.name) for w in workloads(objects)} == {
        ("StatefulSet", "notes-postgresql"),
        ("StatefulSet", "notes-redis"),
        ("Deployment", "notes-web"),
        ("Deployment", "notes-worker"),
    }


def test_one_off_pod_is_restricted_and_reaches_addons() -> None:
    proj, objects = _objects("tasks")
    pod = one_off_pod(
        AppContext(proj.spec, proj.plan, "tasks", "img:1", "hash"),
        "tasks-run-1",
        ["python", "-c", "print(1)"],
    )
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["command"] == ["python", "-c", "print(1)"]
    assert spec["containers"][0]["envFrom"] == [{"secretRef": {"name": "tasks-env"}}]
    assert violations(spec) == []
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy")
    admitted = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert admitted.items() <= pod["metadata"]["labels"].items()


def test_a_config_error_counts_as_stuck_only_once_the_pod_has_settled() -> None:
    """The kubelet may report CreateContainerConfigError for a moment while its Secret
    cache syncs; a crash loop or a pull error fails the rollout at once."""

    def pod(age: float) -> SimpleNamespace:
        created = datetime.now(UTC) - timedelta(seconds=age)
        return SimpleNamespace(metadata=SimpleNamespace(creationTimestamp=created))

    assert not settled(pod(5), "CreateContainerConfigError")
    assert settled(pod(45), "CreateContainerConfigError")
    assert settled(pod(1), "ErrImagePull") and settled(pod(1), "CrashLoopBackOff")
