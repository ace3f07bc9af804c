"""Start commands, ports, checks and release commands from other platforms' files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipway.detect import detect
from shipway.detect.plan import BuildPlan
from shipway.errors import SpecError
from shipway.spec import load_spec
from tests.helpers.appdir import make_app

FLASK_APP = "from flask import Flask\napp = Flask(__name__)\n"
RAILWAY_JSON = json.dumps(
    {
        "$schema": "https://railway.com/railway.schema.json",
        "build": {"builder": "NIXPACKS"},
        "deploy": {
            "startCommand": "gunicorn -b 0.0.0.0:$PORT app:app",
            "healthcheckPath": "/health",
            "preDeployCommand": ["python manage.py migrate", "python seed.py"],
        },
    }
)
RAILWAY_TOML = """[build]
builder = "NIXPACKS"
[deploy]
startCommand = "uvicorn main:app --host 0.0.0.0 --port $PORT"
healthcheckPath = "/healthz"
preDeployCommand = "python migrate.py"
"""
NIXPACKS = '[phases.setup]\nnixPkgs = ["python312"]\n[start]\ncmd = "python main.py"\n[variables]\nPORT = "8080"\n'
RENDER = """services:
  - type: worker
    name: jobs
    startCommand: python worker.py
  - type: web
    name: site
    runtime: python
    buildCommand: pip install -r requirements.txt
    startCommand: gunicorn app:app
    healthCheckPath: /ping
    preDeployCommand: python manage.py migrate
    envVars:
      - key: PORT
        value: 10000
      - key: SECRET
        generateValue: true
"""
FLY = """app = "site"
primary_region = "ams"
[processes]
app = "gunicorn -b 0.0.0.0:8080 app:app"
worker = "python worker.py"
[deploy]
release_command = "python manage.py migrate"
[http_service]
internal_port = 8080
processes = ["app"]
[[http_service.checks]]
path = "/up"
"""
APP_ENGINE = "runtime: python312\nentrypoint: gunicorn -b :$PORT main:app\n"


def plan_of(tmp_path: Path, files: dict[str, str]) -> BuildPlan:
    app = make_app(tmp_path, {"requirements.txt": "flask\ngunicorn\n", **files})
    return detect(app, load_spec(app))


def web_command(plan: BuildPlan) -> str | list[str] | None:
    assert plan.web is not None
    return plan.web.command


@pytest.mark.parametrize(
    ("files", "command", "port", "healthcheck", "release"),
    [
        (
            {"railway.json": RAILWAY_JSON},
            "gunicorn -b 0.0.0.0:$PORT app:app",
            5000,
            "/health",
            "python manage.py migrate && python seed.py",
        ),
        (
            {"railway.toml": RAILWAY_TOML},
            "uvicorn main:app --host 0.0.0.0 --port $PORT",
            5000,
            "/healthz",
            "python migrate.py",
        ),
        ({"nixpacks.toml": NIXPACKS, "main.py": ""}, "python main.py", 8080, None, None),
        ({"render.yaml": RENDER}, "gunicorn app:app", 10000, "/ping", "python manage.py migrate"),
        (
            {"fly.toml": FLY},
            "gunicorn -b 0.0.0.0:8080 app:app",
            8080,
            "/up",
            "python manage.py migrate",
        ),
        ({"app.yaml": APP_ENGINE}, "gunicorn -b :$PORT main:app", 5000, None, None),
    ],
)
def test_platform_files(
    tmp_path: Path,
    files: dict[str, str],
    command: str,
    port: int,
    healthcheck: str | None,
    release: str | None,
) -> None:
    plan = plan_of(tmp_path, files)
    assert web_command(plan) == command
    assert plan.web_command_source == next(iter(files))
    assert (plan.port, plan.healthcheck, plan.release) == (port, healthcheck, release)
    assert plan.extra_packages == []


@pytest.mark.parametrize(
    ("fly", "port"),
    [
        ('[env]\nPORT = "8081"\n', 8081),
        ('[[services]]\ninternal_port = 8082\nprocesses = ["app"]\n', 8082),
        ("[http_service]\ninternal_port = 8083\n", 8083),
        ('[[services]]\ninternal_port = 8085\n[[services.http_checks]]\npath = "/hc"\n', 8085),
    ],
)
def test_fly_ports_for_a_detected_command(tmp_path: Path, fly: str, port: int) -> None:
    plan = plan_of(tmp_path, {"fly.toml": fly, "app.py": FLASK_APP})
    assert plan.web_command_source == "detected"
    assert (plan.port, plan.port_source) == (port, "fly.toml")


def test_fly_single_process_group_and_experimental_cmd(tmp_path: Path) -> None:
    single = plan_of(tmp_path, {"fly.toml": '[processes]\nweb = "python -m http.server 8000"\n'})
    assert (web_command(single), single.port) == ("python -m http.server 8000", 8000)
    cmd = '[experimental]\ncmd = ["gunicorn", "-b", ":8084", "app:app"]\n'
    experimental = plan_of(tmp_path / "e", {"fly.toml": cmd})
    assert (web_command(experimental), experimental.port) == (
        ["gunicorn", "-b", ":8084", "app:app"],
        8084,
    )


def test_first_file_wins_field_by_field(tmp_path: Path) -> None:
    railway = '{"deploy": {"startCommand": "gunicorn app:app"}}'
    plan = plan_of(tmp_path, {"railway.json": railway, "render.yaml": RENDER})
    assert (web_command(plan), plan.web_command_source) == ("gunicorn app:app", "railway.json")
    assert (plan.port, plan.port_source, plan.healthcheck) == (10000, "render.yaml", "/ping")


def test_a_procfile_wins_and_platform_files_are_not_read(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {"Procfile": "web: gunicorn app:app\n", "railway.json": RAILWAY_JSON, "fly.toml": "[x"},
    )
    assert (web_command(plan), plan.web_command_source) == ("gunicorn app:app", "app spec")
    assert (plan.healthcheck, plan.release, plan.port) == (None, None, 5000)


@pytest.mark.parametrize(
    "app_yaml",
    [
        "kind: Deployment\nentrypoint: rm -rf /\n",
        "runtime: nodejs20\nentrypoint: node server.js\n",
        "runtime: python312\nentrypoint: [\n",
        "- not a mapping\n",
    ],
)
def test_app_yaml_that_is_not_app_engines_is_ignored(tmp_path: Path, app_yaml: str) -> None:
    plan = plan_of(tmp_path, {"app.yaml": app_yaml, "app.py": FLASK_APP})
    assert plan.web_command_source == "detected"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"railway.json": "{"}, "railway.json:1: invalid JSON"),
        ({"railway.toml": "[deploy\n"}, "railway.toml: invalid TOML"),
        ({"fly.toml": "app = \n"}, "fly.toml: invalid TOML"),
        ({"render.yaml": "services: [\n"}, "render.yaml:2: invalid YAML"),
        ({"nixpacks.toml": "x" * 300_000}, "nixpacks.toml: is larger than 256 KiB"),
        ({"railway.json": "[" * 100_000 + "]" * 100_000}, "railway.json: is nested more than 32"),
    ],
)
def test_broken_platform_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of(tmp_path, files)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "deploy",
    [
        {"startCommand": None, "healthcheckPath": "health"},
        {"startCommand": 42, "healthcheckPath": "/has space"},
        {"startCommand": ["gunicorn", 1]},
        "not a table",
    ],
)
def test_odd_values_are_ignored(tmp_path: Path, deploy: object) -> None:
    railway = json.dumps({"deploy": deploy})
    plan = plan_of(tmp_path, {"railway.json": railway, "app.py": FLASK_APP})
    assert (plan.web_command_source, plan.healthcheck) == ("detected", None)


@pytest.mark.parametrize(
    ("dockerfile", "port", "command"),
    [
        (
            "FROM python:3.12\nCMD gunicorn -b 0.0.0.0:8080 app:app\n",
            8080,
            ["/bin/sh", "-c", "gunicorn -b 0.0.0.0:8080 app:app"],
        ),
        (
            'FROM python:3.12\nCMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "80"]\n',
            80,
            ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "80"],
        ),
        ("FROM python:3.12\nEXPOSE 9090/tcp\nCMD gunicorn app:app\n", 9090, None),
        (
            'FROM python:3.12\nENV PORT=8000 OTHER="a b"\nCMD ["sh", "-c", "gunicorn -b 0.0.0.0:$PORT app:app"]\n',
            8000,
            None,
        ),
        ("FROM python:3.12\nENV PORT 8001\nCMD gunicorn app:app\n", 8001, None),
        ("FROM python:3.12\nARG PORT=7000\nEXPOSE $PORT\nCMD gunicorn app:app\n", 7000, None),
        (
            "FROM python:3.12 AS build\nEXPOSE 1234\nCMD x\nFROM python:3.12-slim\n"
            '# the image that runs\nCMD ["python", "app.py"]\n',
            5000,
            ["python", "app.py"],
        ),
        (
            'FROM python:3.12\nENTRYPOINT ["./entrypoint.sh"]\nCMD ["gunicorn", "-b", "0.0.0.0:8001", "app:app"]\n',
            8001,
            ["./entrypoint.sh", "gunicorn", "-b", "0.0.0.0:8001", "app:app"],
        ),
        (
            'FROM python:3.12\nENTRYPOINT ["python", "-m"]\nCMD http.server 8003\n',
            8003,
            ["python", "-m", "/bin/sh", "-c", "http.server 8003"],
        ),
        ("FROM python:3.12\nCMD gunicorn \\\n  -b 0.0.0.0:8002 \\\n  app:app\n", 8002, None),
        ("FROM scratch\nEXPOSE 99999\n", 5000, None),
    ],
)
def test_own_dockerfile(
    tmp_path: Path, dockerfile: str, port: int, command: list[str] | None
) -> None:
    plan = plan_of(tmp_path, {"Dockerfile": dockerfile})
    assert (plan.dockerfile, web_command(plan), plan.web_command_source) == (
        "Dockerfile",
        None,
        "Dockerfile",
    )
    assert plan.port == port
    if command is not None:
        assert plan.dockerfile_command == command


def test_dockerfile_exec_form_with_a_literal_port(tmp_path: Path) -> None:
    docker = 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:$PORT", "app:app"]\n'
    plan = plan_of(tmp_path, {"Dockerfile": docker})
    assert plan.warnings == [
        "Dockerfile: the web command is an exec-form list, so no shell expands $PORT; "
        "write it as one string, or use $(PORT)"
    ]


def test_a_procfile_command_beside_a_dockerfile(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {"Dockerfile": "FROM x\nEXPOSE 7000\nCMD y\n", "Procfile": "web: gunicorn app:app\n"},
    )
    assert (plan.dockerfile, web_command(plan), plan.web_command_source) == (
        "Dockerfile",
        "gunicorn app:app",
        "app spec",
    )
    assert (plan.port, plan.port_source) == (7000, "Dockerfile")


def test_dockerfile_with_fly_toml_takes_flys_port(tmp_path: Path) -> None:
    files = {"Dockerfile": "FROM x\nCMD gunicorn app:app\n", "fly.toml": FLY}
    plan = plan_of(tmp_path, files)
    assert (web_command(plan), plan.port, plan.release) == (None, 8080, "python manage.py migrate")


def test_fly_services_health_check(tmp_path: Path) -> None:
    fly = '[[services]]\ninternal_port = 8085\n[[services.http_checks]]\npath = "/hc"\n'
    plan = plan_of(tmp_path, {"fly.toml": fly, "app.py": FLASK_APP})
    assert (plan.port, plan.healthcheck) == (8085, "/hc")
