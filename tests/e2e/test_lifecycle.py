"""Heroku's lifecycle on the real cluster, with no change to the app's files: create the
app, set config and add a database before the first deploy, add and remove an addon on the
running app, and find every setting again after ``destroy --keep-data``."""

from __future__ import annotations

import time

from lightkube import Client
from lightkube.resources.core_v1 import PersistentVolumeClaim

from shipway.kube.client import get_or_none
from tests.e2e.cli import NewApp, deploy, message_at, run_shipway
from tests.e2e.kube import wait_for
from tests.e2e.test_day2 import ok_json, one_line_error

Env = dict[str, str]
SEES = (
    "import os; print(os.environ.get('GREETING'), os.environ.get('REDIS_URL', '')[:8], "
    "'DATABASE_URL' in os.environ)"
)


def sees(env: Env, name: str) -> str:
    ran = run_shipway(env, "run", name, "--", "python", "-c", SEES, timeout=180)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip().splitlines()[-1]


def test_create_config_and_addons_before_and_after_the_first_deploy(
    platform: Env, new_app: NewApp, kube: Client
) -> None:
    app, name = new_app("hello")
    assert ok_json(platform, "create", name) == {"app": name, "namespace": name}
    taken = one_line_error(run_shipway(platform, "create", name))
    assert f"name '{name}' is not available" in taken
    listed = {a["app"]: a["status"] for a in ok_json(platform, "apps")}
    assert listed[name] == "created"

    # Before the first deploy: kept, not released.
    assert ok_json(platform, "config:set", name, "GREETING=hola") == {
        "release": None,
        "changed": ["GREETING"],
    }
    added = ok_json(platform, "addons:create", name, "heroku-redis:mini")
    assert added == {"release": None, "addon": "redis"}
    assert ok_json(platform, "config", name, "--reveal") == {"GREETING": "hola"}

    first = deploy(platform, app)
    assert (first["exit"], first["release"]) == (0, 1), first["stderr"]
    assert wait_for("the greeting", lambda: message_at(first["url"]) == "hola" or None)
    assert sees(platform, name) == "hola redis:// False"
    assert [a["kind"] for a in ok_json(platform, "addons", name)] == ["redis"]

    # On the running app: a release each, like config:set.
    added = ok_json(platform, "addons:create", name, "postgresql", "--timeout", "240")
    assert (added["release"], added["status"]) == (2, "succeeded")
    assert sees(platform, name) == "hola redis:// True"
    again = one_line_error(run_shipway(platform, "addons:create", name, "postgresql"))
    assert "already has a postgresql addon" in again

    removed = ok_json(platform, "addons:destroy", name, "postgresql", "--confirm", name)
    assert removed["release"] == 3
    assert sees(platform, name) == "hola redis:// False"
    claim = get_or_none(kube, PersistentVolumeClaim, f"data-{name}-postgresql-0", name)
    assert claim is None or claim.metadata.deletionTimestamp is not None

    # destroy --keep-data keeps the settings: the next deploy has them all.
    gone = run_shipway(platform, "destroy", name, "--yes", "--keep-data")
    assert gone.returncode == 0, gone.stderr
    back = deploy(platform, app)
    assert back["exit"] == 0, back["stderr"]
    assert sees(platform, name) == "hola redis:// False"


def test_lifecycle_errors_are_one_line(platform: Env, new_app: NewApp) -> None:
    app, name = new_app("hello", "services:\n  redis: '6.2'\n")
    missing = one_line_error(run_shipway(platform, "config:set", name, "A=1"))
    assert f"app '{name}' does not exist; create it with shipway create {name}" in missing
    assert "unknown addon 'mysql'" in one_line_error(
        run_shipway(platform, "addons:create", name, "mysql")
    )
    assert ok_json(platform, "create", name)["app"] == name
    assert ok_json(platform, "addons:create", name, "redis:7.0") == {
        "release": None,
        "addon": "redis",
    }
    clash = one_line_error(run_shipway(platform, "deploy", app))
    assert "shipway.yaml:" in clash and "services.redis.version: is '6.2' here" in clash
    assert "`shipway addons:create` set '7.0'" in clash
    declared = one_line_error(
        run_shipway(platform, "addons:destroy", name, "mongodb", "--confirm", name)
    )
    assert f"{name} has no mongodb addon" in declared


def test_a_web_process_bound_to_loopback_fails_at_once_with_the_fix(
    platform: Env, new_app: NewApp
) -> None:
    app, _ = new_app(
        "hello", "processes:\n  web: flask --app app run --host 127.0.0.1 --port $PORT\n"
    )
    started = time.monotonic()
    failed = deploy(platform, app, timeout=180)
    assert failed["exit"] == 1 and failed["status"] == "failed", failed
    assert "listens on 127.0.0.1:5000 (its log says so)" in failed["reason"]
    assert "flask run --host 0.0.0.0" in failed["reason"]
    assert time.monotonic() - started < 90  # not the startup probe's two minutes
