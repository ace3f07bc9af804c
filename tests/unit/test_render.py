"""Rendering: golden files, official schemas, the restricted profile, determinism."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from shipway import project
from shipway.credentials import CredentialStore
from shipway.errors import SpecError
from shipway.render import RenderOptions, secrets_needed
from shipway.render.output import write
from tests.conftest import EXAMPLES, ROOT
from tests.helpers.appdir import copy_example, make_app
from tests.helpers.pss import pod_templates, violations

GOLDEN = ROOT / "tests" / "golden"
EXAMPLE_APPS = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.34.0"
Obj = dict[str, Any]


def fixed_store(root: Path, app_dir: Path, namespace: str | None = None) -> CredentialStore:
    """A store holding known values, so golden files can include the Secrets."""
    proj = project.load(app_dir)
    store = CredentialStore(root)
    path = store.path(namespace or proj.spec.name, proj.spec.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: f"test-{k}" for k in secrets_needed(proj.spec)}))
    return store


def render_app(app_dir: Path, tmp_path: Path, **options: Any) -> tuple[list[Obj], str | None]:
    proj = project.load(app_dir)
    opts = RenderOptions(image=options.pop("image", f"{proj.spec.name}:latest"), **options)
    rendered = project.render_project(
        proj, opts, fixed_store(tmp_path / "s", app_dir, opts.namespace)
    )
    return rendered.objects, rendered.dockerfile


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def secret_data(obj: Obj) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


@pytest.mark.parametrize("example", EXAMPLE_APPS)
def test_golden(example: str, tmp_path: Path) -> None:
    objects, docker = render_app(EXAMPLES / example, tmp_path, expose="nodeport")
    out = tmp_path / "out"
    write(objects, out)
    if docker:
        (out / "Dockerfile").write_text(docker)
    golden = GOLDEN / example
    if os.environ.get("SHIPWAY_UPDATE_GOLDEN"):
        golden.mkdir(parents=True, exist_ok=True)
        for old in golden.iterdir():
            old.unlink()
        for new in out.iterdir():
            (golden / new.name).write_text(new.read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in golden.iterdir())
    for path in out.iterdir():
        assert path.read_text() == (golden / path.name).read_text(), path.name


@pytest.mark.parametrize("example", EXAMPLE_APPS)
@pytest.mark.parametrize("expose", ["clusterip", "nodeport", "ingress"])
def test_valid_against_official_schemas(example: str, expose: str, tmp_path: Path) -> None:
    objects, _ = render_app(EXAMPLES / example, tmp_path, expose=expose)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("example", EXAMPLE_APPS)
def test_restricted_pod_security_and_labels(example: str, tmp_path: Path) -> None:
    objects, _ = render_app(EXAMPLES / example, tmp_path)
    templates = pod_templates(objects)
    assert templates
    for name, pod in templates:
        assert violations(pod) == [], name
    for obj in objects:
        labels = obj["metadata"]["labels"]
        for key in ("name", "instance", "component"):
            assert labels[f"app.kubernetes.io/{key}"], obj["metadata"]["name"]
        assert labels["app.kubernetes.io/managed-by"] == "shipway"
    ns = by_kind(objects, "Namespace")[0]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_violations_are_caught() -> None:
    bad = {
        "containers": [{"name": "c", "securityContext": {"privileged": True}}],
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
    }
    found = violations(bad)
    assert "hostNetwork is set" in found
    assert "c: privileged" in found
    assert "c: allowPrivilegeEscalation is not false" in found
    assert "c: runAsNonRoot is not true" in found
    assert any("hostPath" in p for p in found)


def test_tasks_is_the_seed_scenario(tmp_path: Path) -> None:
    objects, docker = render_app(
        EXAMPLES / "tasks",
        tmp_path,
        expose="nodeport",
        image="registry.local/tasks@sha256:" + "a" * 64,
    )
    assert [o["kind"] for o in objects] == [
        "Namespace",
        "Secret",
        "Secret",
        "Service",
        "StatefulSet",
        "NetworkPolicy",
        "Deployment",
        "Service",
    ]
    assert not by_kind(objects, "Pod")
    (deploy,) = by_kind(objects, "Deployment")
    strategy = deploy["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0
    box = deploy["spec"]["template"]["spec"]["containers"][0]
    assert box["image"] == "registry.local/tasks@sha256:" + "a" * 64
    assert {"name": "PORT", "value": "5000"} in box["env"]
    assert box["envFrom"] == [{"secretRef": {"name": "tasks-env"}}]
    assert box["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "livenessProbe" in box
    assert box["resources"]["requests"] and box["resources"]["limits"]
    env = secret_data(
        next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "tasks-env")
    )
    assert env["MONGODB_URI"] == (
        "mongodb://shipway:test-mongodb-password@tasks-mongodb.tasks.svc:27017/tasks"
        "?authSource=admin"
    )
    assert env["MONGO_URL"] == env["MONGODB_URI"]
    web = next(s for s in by_kind(objects, "Service") if s["metadata"]["name"] == "tasks")
    assert web["spec"]["type"] == "NodePort"
    mongo_svc = next(
        s for s in by_kind(objects, "Service") if s["metadata"]["name"] == "tasks-mongodb"
    )
    assert mongo_svc["spec"]["ports"][0]["port"] == 27017
    (sts,) = by_kind(objects, "StatefulSet")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "mongo:6.0"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"
    auth = secret_data(
        next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "tasks-mongodb-auth")
    )
    assert auth["MONGO_INITDB_ROOT_PASSWORD"] == "test-mongodb-password"
    (policy,) = by_kind(objects, "NetworkPolicy")
    admitted = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert admitted.items() <= pod_labels.items()
    assert not admitted.items() <= sts["spec"]["template"]["metadata"]["labels"].items()
    assert docker is not None and "FROM python:3.12-slim" in docker


def test_heroku_example(tmp_path: Path) -> None:
    objects, _ = render_app(EXAMPLES / "notes-heroku", tmp_path)
    deploys = {d["metadata"]["name"]: d for d in by_kind(objects, "Deployment")}
    assert deploys["notes-web"]["spec"]["replicas"] == 2
    assert "ports" not in deploys["notes-worker"]["spec"]["template"]["spec"]["containers"][0]
    env = secret_data(
        next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "notes-env")
    )
    assert env["DATABASE_URL"].startswith(
        "postgresql://shipway:test-postgresql-password@notes-postgresql.notes.svc:5432/notes"
    )
    assert env["REDIS_URL"] == "redis://:test-redis-password@notes-redis.notes.svc:6379/0"
    assert env["SECRET_KEY"] == "test-env.SECRET_KEY"
    assert env["LOG_LEVEL"] == "info"
    (job,) = by_kind(objects, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "migrate.py"]


def test_three_formats_render_the_same_objects(tmp_path: Path) -> None:
    """shipway.yaml, Procfile + app.json and .cupaas.yml describing one app agree."""
    specs = {
        "yaml": {
            "shipway.yaml": "name: tasks\nruntime: python-3.8.6\n"
            "processes: {web: [python, app.py]}\nservices: [mongodb]\n"
        },
        "heroku": {
            "Procfile": "web: python app.py\n",
            "runtime.txt": "python-3.8.6\n",
            "app.json": '{"name": "tasks", "addons": ["mongolab:sandbox"]}',
        },
        "cupaas": {
            ".cupaas.yml": "runtime: python:3.8.6\nentrypoint: [python, app.py]\n"
            "services: [mongodb]\n"
        },
    }
    rendered = {}
    for fmt, files in specs.items():
        app = copy_example(tmp_path / fmt, "tasks-cupaas", name="tasks")
        for name, text in files.items():
            (app / name).write_text(text)
        rendered[fmt] = render_app(app, tmp_path / fmt)
    assert rendered["yaml"] == rendered["heroku"] == rendered["cupaas"]


def test_render_is_deterministic_and_credentials_are_kept(tmp_path: Path) -> None:
    proj = project.load(EXAMPLES / "notes-heroku")
    options = RenderOptions(image="notes:1")
    store = CredentialStore(tmp_path / "state")
    first = write(project.render_project(proj, options, store).objects, tmp_path / "a")
    second = write(project.render_project(proj, options, store).objects, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    other = project.render_project(proj, options, CredentialStore(tmp_path / "other"))
    assert other.objects != project.render_project(proj, options, store).objects
    kept = store.path("notes", "notes")
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


def test_rerender_removes_stale_files(tmp_path: Path) -> None:
    proj = project.load(EXAMPLES / "notes-heroku")
    store = CredentialStore(tmp_path / "state")
    out = tmp_path / "out"
    (out).mkdir()
    (out / "mine.yaml").write_text("kind: ConfigMap\n")
    write(
        project.render_project(proj, RenderOptions(image="x", expose="ingress"), store).objects, out
    )
    assert any("ingress" in p.name for p in out.iterdir())
    write(project.render_project(proj, RenderOptions(image="x"), store).objects, out)
    assert not any("ingress" in p.name for p in out.iterdir())
    assert (out / "mine.yaml").exists()
    secret_files = [p for p in out.iterdir() if "-secret-" in p.name]
    assert secret_files and all(p.stat().st_mode & 0o077 == 0 for p in secret_files)


def test_domains_make_an_ingress(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"shipway.yaml": "name: site\ndomains: [a.example.com, b.example.org]\n", "app.py": ""},
    )
    objects, _ = render_app(app, tmp_path, ingress_class="nginx")
    (ing,) = by_kind(objects, "Ingress")
    assert [r["host"] for r in ing["spec"]["rules"]] == ["a.example.com", "b.example.org"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "site", "port": {"name": "http"}}


def test_namespace_option(tmp_path: Path) -> None:
    objects, _ = render_app(EXAMPLES / "tasks", tmp_path, namespace="team-a")
    assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in objects} == {"team-a"}
    env = secret_data(
        next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "tasks-env")
    )
    assert "@tasks-mongodb.team-a.svc:27017" in env["MONGODB_URI"]


def test_user_env_overrides_addon_url(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "shipway.yaml": "name: a\nservices: [redis]\n"
            "env: {REDIS_URL: 'redis://external:6379'}\n",
            "app.py": "",
        },
    )
    objects, _ = render_app(app, tmp_path)
    env = secret_data(
        next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "a-env")
    )
    assert env["REDIS_URL"] == "redis://external:6379"


@pytest.mark.parametrize("option", [{"expose": "ingress"}, {"expose": "nodeport"}])
def test_exposure_needs_a_web_process(tmp_path: Path, option: dict[str, str]) -> None:
    app = make_app(tmp_path, {"Procfile": "worker: python w.py\n"})
    with pytest.raises(
        SpecError,
        match=r"processes.web: --expose \w+ needs a web process but the "
        r"app has only worker; add 'web: <command>'",
    ):
        render_app(app, tmp_path, **option)


def test_own_dockerfile_keeps_the_image_command(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"Dockerfile": "FROM python:3.12-slim\nEXPOSE 8000\n"})
    objects, docker = render_app(app, tmp_path)
    assert docker is None
    box = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in box
    assert box["ports"][0]["containerPort"] == 8000


def test_dollar_paren_reaches_the_shell(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"Procfile": "web: echo $(date) && python -m http.server $PORT\n"})
    objects, docker = render_app(app, tmp_path)
    box = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert box["command"] == ["/bin/sh", "-c", "echo $$(date) && python -m http.server $PORT"]
    assert docker is not None
    assert 'CMD ["/bin/sh", "-c", "echo $(date) && python -m http.server $PORT"]' in docker
