"""The framework's production command: app objects, factories, layouts, Django entry points."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.detect.framework import DAPHNE, GUNICORN, UVICORN
from shipway.errors import SpecError
from tests.helpers.appdir import plan_of, web_command

FLASK = "from flask import Flask\n"
FASTAPI = "from fastapi import FastAPI\n"
WSGI = "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"
ASGI = "from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n"
MANAGE = (
    'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.production")\n'
)


@pytest.mark.parametrize(
    ("requirements", "files", "command"),
    [
        ("flask", {"app.py": FLASK + "app = Flask(__name__)\n"}, GUNICORN + "app:app"),
        (
            "flask",
            {
                "app/__init__.py": FLASK
                + "def create_app(config=None, *, testing=False):\n    return Flask(__name__)\n"
            },
            GUNICORN + "'app:create_app()'",
        ),
        (
            "flask",
            {"app.py": FLASK + "def make_app():\n    return Flask(__name__)\n"},
            GUNICORN + "'app:make_app()'",
        ),
        (
            "flask",
            {"notes/app.py": FLASK + "app = Flask(__name__)\n", "notes/__init__.py": ""},
            GUNICORN + "notes.app:app",
        ),
        (
            "flask",
            {"src/notes/__init__.py": FLASK + "app = Flask(__name__)\n"},
            GUNICORN + "--pythonpath src notes:app",
        ),
        (
            "flask",
            {"src/notes/app.py": "import flask\nweb = flask.Flask(__name__)\n"},
            GUNICORN + "--pythonpath src notes.app:web",
        ),
        (
            "flask",
            {
                "tests/app.py": FLASK + "app = Flask(__name__)\n",
                "site/wsgi.py": FLASK + "application = Flask('x')\n",
            },
            GUNICORN + "site.wsgi:application",
        ),
        (
            "flask",
            {"app.py": FLASK + "app = Flask(__name__)\ndef broken(:\n"},
            GUNICORN + "app:app",
        ),
        ("fastapi", {"app/main.py": FASTAPI + "app = FastAPI()\n"}, UVICORN + "app.main:app"),
        (
            "fastapi",
            {"src/api/main.py": FASTAPI + "api: FastAPI = FastAPI(title='x')\n"},
            UVICORN + "--app-dir src api.main:api",
        ),
        (
            "starlette",
            {"asgi.py": "from starlette.applications import Starlette\napp = Starlette()\n"},
            UVICORN + "asgi:app",
        ),
        ("flask", {"server.py": "print('no app object')\n"}, "python server.py"),
        (
            "requests",
            {"tests/__main__.py": "", "bot/__main__.py": "serve(port=8123)\n"},
            "python -m bot",
        ),
        ("requests", {"src/bot/__main__.py": ""}, "python -m bot"),
    ],
)
def test_app_objects(
    tmp_path: Path, requirements: str, files: dict[str, str], command: str
) -> None:
    plan = plan_of(tmp_path, {"requirements.txt": requirements + "\n", **files})
    assert web_command(plan) == command
    assert plan.web_command_source == "detected"


def test_a_factory_that_needs_arguments_is_not_called(tmp_path: Path) -> None:
    source = FLASK + "def create_app(config_name):\n    return Flask(__name__)\n"
    with pytest.raises(SpecError, match="cannot tell how to start the web process"):
        plan_of(tmp_path, {"requirements.txt": "flask\n", "app/__init__.py": source})


@pytest.mark.parametrize(
    ("requirements", "files", "command", "extras"),
    [
        (
            "django",
            {"mysite/wsgi.py": WSGI, "mysite/asgi.py": ASGI},
            GUNICORN + "mysite.wsgi:application",
            ["gunicorn==23.0.0"],
        ),
        ("django\ndaphne", {"mysite/asgi.py": ASGI}, DAPHNE + "mysite.asgi:application", []),
        (
            "django\nuvicorn[standard]",
            {"mysite/asgi.py": ASGI},
            UVICORN + "mysite.asgi:application",
            [],
        ),
        (
            "django\nchannels",
            {"mysite/asgi.py": ASGI},
            UVICORN + "mysite.asgi:application",
            ["uvicorn==0.32.1"],
        ),
    ],
)
def test_django_entry_points(
    tmp_path: Path, requirements: str, files: dict[str, str], command: str, extras: list[str]
) -> None:
    plan = plan_of(
        tmp_path, {"requirements.txt": requirements + "\n", "manage.py": MANAGE, **files}
    )
    assert (web_command(plan), plan.framework, plan.extra_packages) == (command, "django", extras)
    assert plan.django_settings == "mysite.settings.production"


def test_django_settings_with_a_procfile_and_from_wsgi(tmp_path: Path) -> None:
    wsgi = (
        'import os\nos.environ.setdefault(\n    "DJANGO_SETTINGS_MODULE", "config.settings"\n)\n'
        + WSGI
    )
    plan = plan_of(
        tmp_path,
        {
            "requirements.txt": "Django\n",
            "Procfile": "web: gunicorn config.wsgi\n",
            "config/wsgi.py": wsgi,
        },
    )
    assert (plan.framework, plan.django_settings, plan.extra_packages) == (
        "django",
        "config.settings",
        [],
    )


def test_framework_is_known_whatever_starts_it(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"requirements.txt": "fastapi\n", "Procfile": "web: python run.py\n"})
    assert (plan.framework, plan.django_settings) == ("fastapi", None)
