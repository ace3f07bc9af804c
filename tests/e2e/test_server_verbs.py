"""Every day-2 verb through the server (remote mode), against the real cluster: the CLI
logged in to a real ``shipway server`` prints what it prints in direct mode, and the
server acts as the signed-in user."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lightkube import Client
from lightkube.resources.networking_v1 import Ingress

from shipway.kube.client import get_or_none
from tests.e2e.cli import NewApp, deploy, run_shipway
from tests.e2e.kube import wait_for
from tests.helpers.server import ADMIN, RunningServer

Env = dict[str, str]


def remote_env(platform: Env, server: RunningServer, token: str | None = None) -> Env:
    # No kubeconfig at all: remote mode must not need one.
    env = {k: v for k, v in platform.items() if k != "KUBECONFIG"}
    return env | {
        "KUBECONFIG": "/nonexistent",
        "SHIPWAY_URL": server.url,
        "SHIPWAY_TOKEN": token or server.admin_token,
    }


def ok(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_shipway(env, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def as_json(env: Env, *args: str) -> Any:
    return json.loads(ok(env, *args, "--json").stdout)


def test_every_verb_through_the_server(
    platform: Env, new_app: NewApp, team_server: RunningServer
) -> None:
    app, name = new_app("hello")
    assert deploy(platform, app)["status"] == "succeeded"
    remote = remote_env(platform, team_server)

    refused = run_shipway(remote, "info", name)
    assert refused.returncode == 2 and refused.stderr.strip() == f"error: no app {name}"
    # Logged in, but --direct: the kubeconfig's cluster, which knows the app.
    both = platform | {"SHIPWAY_URL": team_server.url, "SHIPWAY_TOKEN": team_server.admin_token}
    assert as_json(both, "--direct", "info", name)["app"] == name
    imported = ok(remote, "apps:import", name, "--team", "main")
    assert imported.stdout.strip() == f"{name} now belongs to team main"

    # The same answers both ways.
    for verb in ("info", "releases", "addons", "config"):
        assert as_json(remote, verb, name) == as_json(platform, verb, name), verb
    assert ok(remote, "config", name).stdout == ok(platform, "config", name).stdout
    listed = {row["app"]: row for row in as_json(remote, "apps")}
    assert listed[name] | {"team": "main"} == listed[name]
    assert listed[name]["release"] == "v1"

    changed = as_json(remote, "config:set", name, "GREETING=hola")
    assert (changed["release"], changed["status"]) == (2, "succeeded")
    assert as_json(platform, "releases", name)[0]["by"] == ADMIN
    assert as_json(remote, "config", name, "--reveal")["GREETING"] == "hola"

    # A deploy through the server: the source uploaded, the build streamed back.
    source = app / "app.py"
    source.write_text(source.read_text().replace("Hello from Shipway!", "Uploaded!"))
    shipped = ok(remote, "deploy", str(app))
    assert shipped.stdout.startswith("v3 deployed: "), shipped.stdout
    assert "URL: http://" in shipped.stdout
    again = as_json(remote, "deploy", str(app))
    assert (again["status"], again["release"]) == ("unchanged", 3)

    assert ok(remote, "scale", name, "web=2").stdout.strip() == "web=2"
    wait_for(
        "two web pods",
        lambda: len([p for p in as_json(remote, "ps", name) if p["ready"]]) == 2 or None,
        timeout=120,
    )
    assert ok(remote, "restart", name).stdout.strip() == "restarted web"

    ran = run_shipway(remote, "run", name, "--", "sh", "-c", "echo from-the-pod; exit 3")
    assert (ran.returncode, ran.stdout.strip()) == (3, "from-the-pod"), ran.stderr
    logs = ok(remote, "logs", name, "--tail", "5").stdout.splitlines()
    assert logs and all(line.startswith(f"{name}-web-") and " | " in line for line in logs)

    back = as_json(remote, "rollback", name)
    assert (back["release"], back["rolled_back_to"]) == (4, 2)

    gone = as_json(remote, "destroy", name, "--yes", "--delete-data")
    assert gone["removed"] == [f"Namespace/{name}"]
    assert name not in {row["app"] for row in as_json(remote, "apps")}
    # The name is free again: a team may create it.
    created = as_json(remote, "create", name)
    assert created == {"app": name, "namespace": name}


def test_domains_through_the_server(
    platform: Env, new_app: NewApp, team_server: RunningServer, kube: Client
) -> None:
    app, name = new_app("hello")
    remote = remote_env(platform, team_server)
    assert as_json(remote, "create", name) == {"app": name, "namespace": name}
    kept = ok(remote, "domains:add", name, "Hello.Example.TEST")
    assert kept.stdout.strip() == "added hello.example.test; the first deploy uses it"
    bad = run_shipway(remote, "domains:add", name, "not a host")
    assert bad.returncode == 2 and "is not a host name" in bad.stderr

    assert deploy(platform, app)["status"] == "succeeded"
    assert as_json(remote, "domains", name) == {"declared": [], "added": ["hello.example.test"]}
    ingress = kube.get(Ingress, name, namespace=name)
    assert [rule.host for rule in ingress.spec.rules] == ["hello.example.test"]

    removed = as_json(remote, "domains:remove", name, "hello.example.test")
    assert (removed["release"], removed["domain"]) == (2, "hello.example.test")
    assert get_or_none(kube, Ingress, name, name) is None
    assert as_json(remote, "domains", name) == {"declared": [], "added": []}
