"""Detection: Python version, dependencies, start commands and port."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.detect import detect
from shipway.detect.plan import ProcessPlan
from shipway.errors import SpecError
from shipway.spec import load_spec
from shipway.spec.model import Resources
from tests.conftest import EXAMPLES
from tests.helpers.appdir import plan_of, web_command

FLASK_APP = "from flask import Flask\napplication = Flask(__name__)\n"


@pytest.mark.parametrize(
    ("files", "version", "source"),
    [
        ({"runtime.txt": "python-3.11.9\n"}, "3.11.9", "runtime.txt"),
        ({".python-version": "3.10\n"}, "3.10", ".python-version"),
        (
            {"pyproject.toml": '[project]\nname="x"\nrequires-python=">=3.10,<3.13"\n'},
            "3.12",
            "pyproject.toml",
        ),
        (
            {"shipway.yaml": "name: a\nruntime: python-3.9\n", "runtime.txt": "python-3.11.0"},
            "3.9",
            "app spec",
        ),
        ({}, "3.12", "default"),
    ],
)
def test_python_version(tmp_path: Path, files: dict[str, str], version: str, source: str) -> None:
    plan = plan_of(tmp_path, {"app.py": "print(1)\n", **files})
    assert (plan.python_version, plan.python_version_source) == (version, source)
    assert plan.base_image == f"python:{version}-slim"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"runtime.txt": "ruby-3.2\n"},
            "runtime.txt:1: runtime: 'ruby-3.2' is not a Python runtime",
        ),
        (
            {".python-version": "2.7\n"},
            ".python-version:1: version: Python 2.7 is not supported; use one of 3.8,",
        ),
        (
            {"pyproject.toml": '[project]\nrequires-python="<3.0"\n'},
            "pyproject.toml: project.requires-python: no supported Python satisfies '<3.0'",
        ),
        ({"pyproject.toml": "[project\n"}, "pyproject.toml: invalid TOML"),
    ],
)
def test_bad_version_files(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of(tmp_path, {"app.py": "", **files})
    assert message in str(caught.value)


def test_flask_gets_gunicorn_added(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"requirements.txt": "Flask==3.0\n", "wsgi.py": FLASK_APP})
    assert plan.framework == "flask"
    assert web_command(plan) == (
        "gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} "
        "--access-logfile - wsgi:application"
    )
    assert plan.extra_packages == ["gunicorn==23.0.0"]


def test_flask_factory(tmp_path: Path) -> None:
    source = "from flask import Flask\ndef create_app():\n    return Flask(__name__)\n"
    plan = plan_of(tmp_path, {"requirements.txt": "flask\n", "app/__init__.py": source})
    assert str(web_command(plan)).endswith("'app:create_app()'")


def test_gunicorn_listed_is_not_added(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"requirements.txt": "flask\ngunicorn>=21\n", "app.py": FLASK_APP})
    assert plan.extra_packages == []


def test_django(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {
            "requirements.txt": "Django>=5\n",
            "manage.py": "",
            "mysite/wsgi.py": "from django.core.wsgi import get_wsgi_application\n"
            "application = get_wsgi_application()\n",
        },
    )
    assert plan.framework == "django"
    assert str(web_command(plan)).endswith(" mysite.wsgi:application")


def test_fastapi_from_pyproject_gets_uvicorn(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "api"\ndependencies = ["fastapi>=0.110"]\n',
            "main.py": "from fastapi import FastAPI\napi: FastAPI = FastAPI()\n",
        },
    )
    assert plan.framework == "fastapi"
    assert web_command(plan) == ("uvicorn --host 0.0.0.0 --port $PORT --proxy-headers main:api")
    assert plan.dependencies is not None and plan.dependencies.kind == "pyproject"
    assert plan.extra_packages == ["uvicorn==0.32.1"]


def test_pipfile_and_poetry_names(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"Pipfile": '[packages]\nflask = "*"\n', "app.py": FLASK_APP})
    assert plan.dependencies is not None and plan.dependencies.names == ["flask"]
    poetry = plan_of(
        tmp_path / "p",
        {
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nFlask = "^3"\n',
            "app.py": FLASK_APP,
        },
    )
    assert poetry.framework == "flask"


def test_plain_script_and_port_from_source(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {"requirements.txt": "requests\n", "main.py": "app.run(host='0.0.0.0', port=8081)\n"},
    )
    assert web_command(plan) == "python main.py"
    assert plan.port == 8081
    assert plan.extra_packages == []


def test_procfile_wins_over_detection(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": FLASK_APP,
            "Procfile": "web: python app.py\nworker: celery -A t worker\n",
        },
    )
    assert web_command(plan) == "python app.py"
    assert plan.processes["worker"] == ProcessPlan(
        command="celery -A t worker", replicas=1, resources=Resources()
    )
    assert plan.extra_packages == []


def test_own_dockerfile_is_kept(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"Dockerfile": "FROM scratch\nEXPOSE 9090\n", "app.py": ""})
    assert plan.dockerfile == "Dockerfile"
    assert web_command(plan) is None
    assert plan.port == 9090


def test_no_web_command(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot tell how to start the web process; add 'web:"):
        plan_of(tmp_path, {"requirements.txt": "requests\n"})


def test_formation_without_command(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"processes.worker: has no command; add 'worker:"):
        plan_of(
            tmp_path,
            {
                "Procfile": "web: python app.py\n",
                "app.json": '{"formation": {"worker": {"quantity": 1}}}',
            },
        )


def test_worker_only_procfile_has_no_web(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"Procfile": "worker: python w.py\n", "app.py": ""})
    assert plan.web is None
    assert list(plan.processes) == ["worker"]


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("python app.py", ["python", "app.py"]),
        (["python", "app.py"], ["python", "app.py"]),
        (
            "gunicorn -b 0.0.0.0:$PORT app:app",
            ["/bin/sh", "-c", "exec gunicorn -b 0.0.0.0:$PORT app:app"],
        ),
        ("./migrate && python app.py", ["/bin/sh", "-c", "./migrate && python app.py"]),
        (None, None),
    ],
)
def test_argv(command: str | list[str] | None, argv: list[str] | None) -> None:
    assert ProcessPlan(command=command, replicas=1, resources=Resources()).argv == argv


def test_examples_detect() -> None:
    tasks = detect(EXAMPLES / "tasks", load_spec(EXAMPLES / "tasks"))
    assert (tasks.framework, tasks.port, tasks.healthcheck) == ("flask", 5000, "/healthz")
    cupaas = detect(EXAMPLES / "tasks-cupaas", load_spec(EXAMPLES / "tasks-cupaas"))
    assert (web_command(cupaas), cupaas.python_version, cupaas.port) == (
        ["python", "app.py"],
        "3.8.6",
        5000,
    )
    notes = detect(EXAMPLES / "notes-heroku", load_spec(EXAMPLES / "notes-heroku"))
    assert sorted(notes.processes) == ["web", "worker"]
    assert notes.release == "python migrate.py"
