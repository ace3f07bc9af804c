"""The day-2 verbs on the real cluster: scale, ps, logs, addons, apps, destroy (with and
without the addon data), what a user without RBAC rights sees, a registry the nodes cannot
pull from, and secrets that never reach the output."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Namespace, PersistentVolumeClaim, Secret, Service

from shipway.kube.client import get_or_none
from tests.e2e.cli import NewApp, RequestLoop, deploy, http, message_at, run_shipway, tasks_at
from tests.e2e.kube import Cluster, name_of, wait_for

Env = dict[str, str]


def ok_json(env: Env, *args: str) -> Any:
    result = run_shipway(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The error line of a command that failed as Shipway fails: one line, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def settled_pods(env: Env, name: str, count: int) -> list[dict[str, Any]] | None:
    """``ps --json``'s web pods once exactly ``count`` run and are ready (none going)."""
    web = [p for p in ok_json(env, "ps", name) if p["process"] == "web"]
    settled = len(web) == count and all(p["ready"] and p["phase"] == "Running" for p in web)
    return web if settled else None


def test_scale_ps_logs_and_apps(platform: Env, new_app: NewApp, kube: Client) -> None:
    app, name = new_app("hello")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]

    scaled = run_shipway(platform, "scale", name, "web=2")
    assert (scaled.returncode, scaled.stdout.strip()) == (0, "web=2"), scaled.stderr
    pods = wait_for("two ready web pods", lambda: settled_pods(platform, name, 2), timeout=120)
    assert {(p["process"], p["restarts"], p["release"], p["image"]) for p in pods} == {
        ("web", 0, "v1", first["image"])
    }

    names = sorted(p["name"] for p in pods)
    logs = run_shipway(platform, "logs", name)
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    prefixed = [re.fullmatch(r"(\S+) \| (.*)", line) for line in lines]
    assert all(prefixed) and lines, logs.stdout
    by_pod = {m.group(1) for m in prefixed if m}
    assert sorted(by_pod) == names
    for pod in names:  # gunicorn's start-up lines, from each pod
        assert any(line.startswith(f"{pod} | ") and "Booting worker" in line for line in lines)
    tail = run_shipway(platform, "logs", name, "--process", "web", "--tail", "1")
    assert tail.returncode == 0, tail.stderr
    assert sorted(line.split(" | ")[0] for line in tail.stdout.splitlines()) == names

    unknown_log = one_line_error(run_shipway(platform, "logs", name, "--process", "nosuch"))
    assert "no process type 'nosuch'" in unknown_log and "web" in unknown_log
    unknown = one_line_error(run_shipway(platform, "scale", name, "nosuch=1"))
    assert "no process type 'nosuch'" in unknown and "process types are web" in unknown
    not_a_count = one_line_error(run_shipway(platform, "scale", name, "web=x"))
    assert "'web=x'" in not_a_count and "web=2" in not_a_count

    restarted = run_shipway(platform, "restart", name, "web")
    assert (restarted.returncode, restarted.stdout.strip()) == (0, "restarted web")
    fresh = wait_for("two new ready web pods", lambda: settled_pods(platform, name, 2))
    assert not {p["name"] for p in fresh} & set(names)  # replaced, same release, no release
    assert {p["release"] for p in fresh} == {"v1"}
    assert [r["version"] for r in ok_json(platform, "releases", name)] == [1]

    changed = ok_json(platform, "config:set", name, "GREETING=scaled")
    assert (changed["status"], changed["release"]) == ("succeeded", 2)
    assert changed["description"] == "Set GREETING config vars"
    assert wait_for("the new greeting", lambda: message_at(first["url"]) == "scaled")
    about = ok_json(platform, "info", name)
    assert (about["release"], about["url"], about["formation"]) == (2, first["url"], {"web": 2})
    assert (about["addons"], about["config_vars"]) == ({}, 1)
    kept = wait_for(
        "two ready web pods of v2",
        lambda: [p for p in settled_pods(platform, name, 2) or [] if p["release"] == "v2"],
        timeout=120,
    )
    assert len(kept) == 2  # the formation outlived the release

    listed = ok_json(platform, "apps")
    mine = [a for a in listed if a["app"] == name]
    assert mine == [
        {
            "app": name,
            "namespace": name,
            "release": "v2",
            "status": "succeeded",
            "processes": {"web": 2},
        }
    ]
    # What ``apps`` read it from: the marks on the namespace, not the app's records.
    marks = kube.get(Namespace, name).metadata.annotations or {}
    assert (marks["shipway.dev/latest-release"], marks["shipway.dev/latest-status"]) == (
        "2",
        "succeeded",
    )


def mongodb_password(kube: Client, name: str) -> str:
    secret = kube.get(Secret, f"{name}-mongodb-auth", namespace=name)
    encoded = (secret.data or {})["MONGO_INITDB_ROOT_PASSWORD"]
    password = base64.b64decode(encoded).decode()
    assert len(password) >= 16
    return password


def test_addons_and_secrets_never_shown(platform: Env, new_app: NewApp, kube: Client) -> None:
    app, name = new_app("tasks")
    shown: list[str] = []

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        result = run_shipway(platform, *args)
        shown.append(result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
        return result

    deployed = run("deploy", app, "--json", "--timeout", "240")
    assert json.loads(deployed.stdout)["status"] == "succeeded", deployed.stderr
    addons = json.loads(run("addons", name, "--json").stdout)
    assert addons == [
        {"kind": "mongodb", "version": "6.0", "ready": "1/1", "storage": "1Gi (Bound)"}
    ]
    claim = kube.get(PersistentVolumeClaim, f"data-{name}-mongodb-0", namespace=name)
    assert claim.status and claim.status.phase == "Bound"

    token = "tok-" + base64.b32encode(time.time_ns().to_bytes(8, "big")).decode().lower()
    run("config:set", name, f"API_TOKEN={token}")
    hidden = run("config", name).stdout
    assert "API_TOKEN=(hidden)" in hidden and token not in hidden
    assert json.loads(run("config", name, "--json").stdout) == {"API_TOKEN": "(hidden)"}
    revealed = run("config", name, "--reveal")
    shown.pop()  # the one output that shows the token, on purpose
    assert f"API_TOKEN={token}" in revealed.stdout
    assert "mongodb" not in revealed.stdout.lower()  # addon URLs are not config vars
    for args in (("releases", name), ("ps", name), ("apps",), ("addons", name)):
        run(*args, "--json")
    run("logs", name)

    password = mongodb_password(kube, name)
    assert password not in revealed.stdout
    leaks = [out for out in shown if password in out or token in out]
    assert leaks == [] and len(shown) == 10


def test_destroy_keeps_or_deletes_addon_data(platform: Env, new_app: NewApp, kube: Client) -> None:
    app, name = new_app("tasks")
    first = deploy(platform, app)
    assert first["status"] == "succeeded", first["stderr"]
    assert http("POST", first["url"], {"task": "outlive destroy"})[0] == 201
    password = mongodb_password(kube, name)
    claim = f"data-{name}-mongodb-0"

    undecided = one_line_error(run_shipway(platform, "destroy", name, "--yes"))
    assert claim in undecided and "--keep-data" in undecided and "--delete-data" in undecided
    asked = run_shipway(platform, "destroy", name, stdin="maybe\nkeep\nnot-the-name\n")
    assert asked.returncode == 2
    assert asked.stdout.count("Keep it for a later deploy, or delete it?") == 2
    assert "Answer keep or delete." in asked.stderr and "addon data is kept" in asked.stderr
    assert "the name did not match; nothing was deleted" in asked.stderr
    assert kube.get(Deployment, f"{name}-web", namespace=name)

    kept = run_shipway(platform, "destroy", name, "--yes", "--keep-data")
    assert kept.returncode == 0, kept.stderr
    assert f"kept the addon data ({claim})" in kept.stdout
    for kind in (Deployment, StatefulSet):
        assert list(kube.list(kind, namespace=name)) == []
    # the app's Service (its NodePort) goes; the addon's stays, holding its address
    assert [name_of(s) for s in kube.list(Service, namespace=name)] == [f"{name}-mongodb"]
    pvc = kube.get(PersistentVolumeClaim, claim, namespace=name)
    assert pvc.status and pvc.status.phase == "Bound"
    assert mongodb_password(kube, name) == password
    assert [r["version"] for r in ok_json(platform, "releases", name)] == [1]
    listed = [a for a in ok_json(platform, "apps") if a["app"] == name]
    assert listed == [
        {"app": name, "namespace": name, "release": "v1", "status": "stopped", "processes": {}}
    ]

    again = deploy(platform, app)
    assert again["status"] == "succeeded" and again["release"] == 2, again
    assert kube.get(PersistentVolumeClaim, claim, namespace=name).metadata.uid == pvc.metadata.uid
    # at once: the app reaches the database by the name it had (no stale DNS answer)
    assert tasks_at(again["url"]) == ["outlive destroy"]

    deleted = run_shipway(platform, "destroy", name, "--yes", "--delete-data")
    assert (deleted.returncode, deleted.stdout.strip()) == (0, f"removed Namespace/{name}")
    assert get_or_none(kube, Namespace, name) is None
    gone = one_line_error(run_shipway(platform, "destroy", name, "--yes", "--delete-data"))
    assert f"app '{name}' is not deployed here" in gone


def token_kubeconfig(cluster: Cluster, namespace: str, path: Path) -> Path:
    """A kubeconfig for a ServiceAccount that may only get and list pods in ``namespace``
    (the admin kubeconfig's server and CA, a fresh token)."""
    for args in (
        ("create", "serviceaccount", "deployer"),
        ("create", "role", "pod-reader", "--verb=get,list", "--resource=pods"),
        ("create", "rolebinding", "deployer", "--role=pod-reader"),
    ):
        account = [f"--serviceaccount={namespace}:deployer"] if "rolebinding" in args else []
        made = cluster.run_kubectl(*args, *account, "-n", namespace)
        assert made.returncode == 0, made.stderr
    minted = cluster.run_kubectl("create", "token", "deployer", "-n", namespace, "--duration=10m")
    assert minted.returncode == 0, minted.stderr
    admin = cluster.run_kubectl("config", "view", "--raw", "--minify", "-o", "json")
    assert admin.returncode == 0, admin.stderr
    server = json.loads(admin.stdout)["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [server],
        "users": [{"name": "deployer", "user": {"token": minted.stdout.strip()}}],
        "contexts": [
            {
                "name": "deployer",
                "context": {"cluster": server["name"], "user": "deployer", "namespace": namespace},
            }
        ],
        "current-context": "deployer",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def test_without_rbac_rights_errors_are_one_clear_line(
    platform: Env, new_app: NewApp, cluster: Cluster, kube: Client, namespace: str, tmp_path: Path
) -> None:
    app, name = new_app("hello")
    kubeconfig = token_kubeconfig(cluster, namespace, tmp_path / "kubeconfig")
    env = {**platform, "KUBECONFIG": str(kubeconfig)}
    allowed = cluster.run_kubectl("--kubeconfig", kubeconfig, "get", "pods", "-n", namespace)
    assert allowed.returncode == 0, allowed.stderr  # the token works; it is just not enough

    deployed = one_line_error(run_shipway(env, "deploy", app))
    assert deployed.startswith(
        f"error: forbidden: the cluster does not let you read namespace {name} ("
    )
    # who was refused (so authenticated: not a 401), which verb on which resource, the fix
    assert f'User "system:serviceaccount:{namespace}:deployer"' in deployed
    assert 'cannot get resource "namespaces"' in deployed
    assert deployed.endswith(
        "; ask the cluster's admin for RBAC rights to do this, or use a context that has "
        "them (--context)"
    )
    listed = one_line_error(run_shipway(env, "apps"))
    assert "does not let you list namespaces" in listed and "RBAC rights" in listed
    releases = one_line_error(run_shipway(env, "releases", name, "--namespace", namespace))
    assert "does not let you list the releases of" in releases and "configmaps" in releases
    assert get_or_none(kube, Namespace, name) is None  # nothing was made


def test_a_registry_the_nodes_cannot_pull_from(platform: Env, new_app: NewApp) -> None:
    app, name = new_app("hello")
    dead = ("--pull-registry", "127.0.0.1:1")

    def failing_deploy() -> dict[str, Any]:
        started = time.monotonic()
        result = deploy(platform, app, *dead, timeout=120)
        took = time.monotonic() - started
        assert (result["status"], result["exit"]) == ("failed", 1), result
        assert took < 60, f"a deploy that cannot pull took {took:.0f} s of its 120 s"
        reason = result["reason"]
        assert re.search(r"pod \S+: (ErrImagePull|ImagePullBackOff)", reason), reason
        assert 'event: Failed: Failed to pull image "127.0.0.1:1/' in reason, reason
        assert "connection refused" in reason, reason
        return result

    first = failing_deploy()
    assert first["rolled_back_to"] is None and "rolled back" not in first["reason"]
    assert first["reason"].startswith("release v1 failed: Deployment ")

    good = deploy(platform, app)
    assert good["status"] == "succeeded" and good["release"] == 2, good
    serving = wait_for("v2's pods alone", lambda: settled_pods(platform, name, 1))
    loop = RequestLoop(good["url"])
    loop.start()
    try:
        second = failing_deploy()
    finally:
        loop.stop()
    assert second["rolled_back_to"] == 2 and second["reason"].endswith("; rolled back to v2")
    assert loop.failures == [] and loop.ok > 10
    assert message_at(good["url"]) == "Hello from Shipway!"
    history = ok_json(platform, "releases", name)
    assert [(r["version"], r["status"]) for r in history] == [
        (4, "succeeded"),
        (3, "failed"),
        (2, "succeeded"),
        (1, "failed"),
    ]
    assert history[0]["description"] == "Rollback to v2 (v3 failed)"
    # v4 runs v2's pods: the very pods that served before the failed deploy go on.
    running = wait_for("v2's pods alone", lambda: settled_pods(platform, name, 1))
    assert [(p["name"], p["release"], p["image"]) for p in running] == [
        (serving[0]["name"], "v2", good["image"])
    ]
