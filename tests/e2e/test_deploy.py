"""`shipway deploy` and the day-2 verbs on the real cluster: the seed's scenario for real."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.cli import RequestLoop, deploy, http, message_at, run_shipway, tasks_at
from tests.e2e.kube import Cluster, wait_for


def test_the_seed_scenario(platform: dict[str, str], new_app: Any, cluster: Cluster) -> None:
    app, name = new_app("tasks")
    result = deploy(platform, app)
    assert result["status"] == "succeeded", result["stderr"]
    url = result["url"]
    assert url.startswith("http://127.0.0.1:")
    assert http("POST", url, {"task": "buy milk"})[0] == 201
    status, body = http("GET", url)
    assert status == 200 and [t["task"] for t in body["data"]] == ["buy milk"]
    # Waits until the old pod is gone, so what answers next is the new database pod.
    deleted = cluster.run_kubectl("delete", "pod", "-n", name, f"{name}-mongodb-0")
    assert deleted.returncode == 0, deleted.stderr
    back = wait_for(
        "the task after the database pod came back",
        lambda: tasks_at(url) == ["buy milk"],
        timeout=180,
    )
    assert back
    # A redeploy of new code, then a rollback: the database keeps its data and password.
    password = _mongodb_secret(cluster, name)
    source = app / "app.py"
    source.write_text(source.read_text().replace('status="ok"', 'status="ok v2"'))
    second = deploy(platform, app)
    assert (second["status"], second["release"]) == ("succeeded", 2), second["stderr"]
    # Old pods drain for a moment after the rollout: wait until v2 answers.
    wait_for("v2's health check", lambda: http("GET", f"{url}healthz")[1] == {"status": "ok v2"})
    assert http("POST", url, {"task": "walk the dog"})[0] == 201
    rolled = run_shipway(platform, "rollback", name, "--json")
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["release"] == 3
    assert tasks_at(url) == ["buy milk", "walk the dog"]
    assert _mongodb_secret(cluster, name) == password


def _mongodb_secret(cluster: Cluster, name: str) -> str:
    shown = cluster.run_kubectl(
        "get", "secret", "-n", name, f"{name}-mongodb-auth", "-o", "jsonpath={.data}"
    )
    assert shown.returncode == 0 and shown.stdout, shown.stderr
    return shown.stdout


def test_config_run_and_rollback(platform: dict[str, str], new_app: Any, cluster: Cluster) -> None:
    app, name = new_app("hello")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]
    assert http("GET", first["url"])[1]["message"] == "Hello from Shipway!"
    changed = run_shipway(platform, "config:set", name, "GREETING=configured")
    assert changed.returncode == 0, changed.stderr
    assert wait_for("the new greeting", lambda: message_at(first["url"]) == "configured")
    # Nothing changed since (same image, spec, platform and config vars): no new release.
    same = deploy(platform, app)
    assert (same["status"], same["release"], same["exit"]) == ("unchanged", 2, 0), same
    # ... and pushes nothing: the app's repository holds v1's tag only (config:set builds none).
    assert http("GET", f"http://{cluster.registry}/v2/{name}/tags/list")[1]["tags"] == ["v1"]
    shown = run_shipway(platform, "config", name)
    assert "GREETING=(hidden)" in shown.stdout and "configured" not in shown.stdout
    check = run_shipway(
        platform,
        "run",
        name,
        "--",
        "python",
        "-c",
        "import os; print(os.environ['GREETING'] == 'configured')",
    )
    assert (check.returncode, check.stdout.strip()) == (0, "True"), check.stderr
    failing = run_shipway(platform, "run", name, "--", "false")
    assert failing.returncode != 0
    source = app / "app.py"
    source.write_text(source.read_text().replace("Hello from Shipway!", "Hello v2"))
    second = deploy(platform, app)
    assert second["status"] == "succeeded", second["stderr"]
    back = run_shipway(platform, "rollback", name, "v2")
    assert back.returncode == 0, back.stderr
    history = json.loads(run_shipway(platform, "releases", name, "--json").stdout)
    newest = history[0]
    assert newest["description"] == "Rollback to v2" and newest["status"] == "succeeded"
    v2 = next(r for r in history if r["version"] == 2)
    assert newest["image"] == v2["image"]
    assert wait_for("v1's code with v2's config", lambda: message_at(first["url"]) == "configured")


def test_failed_deploy_rolls_back_without_dropping_a_request(
    platform: dict[str, str], new_app: Any
) -> None:
    app, name = new_app("hello")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]
    loop = RequestLoop(first["url"])
    loop.start()
    try:
        source = app / "app.py"
        source.write_text(source.read_text().replace("Hello from Shipway!", "Hello v2"))
        assert deploy(platform, app)["status"] == "succeeded"
        source.write_text("raise SystemExit('this release crashes on start')\n")
        failed = deploy(platform, app)
    finally:
        loop.stop()
    assert failed["status"] == "failed" and failed["exit"] == 1
    assert "release v3 failed" in failed["reason"]
    assert "rolled back to v2" in failed["reason"]
    assert failed["rolled_back_to"] == 2
    assert loop.failures == [] and loop.ok > 20
    assert message_at(first["url"]) == "Hello v2"
    history = json.loads(run_shipway(platform, "releases", name, "--json").stdout)
    assert [(r["version"], r["status"]) for r in history[:2]] == [(4, "succeeded"), (3, "failed")]
    listed = json.loads(run_shipway(platform, "apps", "--json").stdout)
    assert [(a["release"], a["status"]) for a in listed if a["app"] == name] == [
        ("v4", "succeeded")
    ]


def test_postgres_and_redis_addons(platform: dict[str, str], new_app: Any) -> None:
    app, _ = new_app("notes-heroku", 'services: {postgresql: "15", redis: "7.0"}')
    result = deploy(platform, app)
    assert result["status"] == "succeeded", result["stderr"]
    url = result["url"]
    wait_for("the release phase's table", lambda: http("GET", url)[0] == 200, timeout=120)
    assert http("POST", url, {"text": "queued through redis"})[0] == 202
    stored = wait_for(
        "the worker to store the note",
        lambda: [n["text"] for n in http("GET", url)[1]["data"]],
        timeout=120,
    )
    assert stored == ["queued through redis"]


def test_refuses_a_namespace_it_did_not_create(
    platform: dict[str, str], new_app: Any, cluster: Cluster
) -> None:
    app, name = new_app("hello")
    made = cluster.run_kubectl("create", "namespace", name)
    assert made.returncode == 0, made.stderr
    try:
        result = run_shipway(platform, "deploy", app)
        assert result.returncode == 2
        assert f"namespace '{name}' exists and is not managed by Shipway" in result.stderr
        destroy = run_shipway(platform, "destroy", name, "--yes")
        assert destroy.returncode == 2
        assert cluster.run_kubectl("get", "namespace", name).returncode == 0
    finally:
        cluster.run_kubectl("delete", "namespace", name, "--wait=false")
