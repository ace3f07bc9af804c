"""Where a web command listens: every server, option, address and shell form."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.detect import detect
from shipway.detect.plan import BuildPlan
from shipway.errors import SpecError
from shipway.spec import load_spec
from tests.helpers.appdir import make_app

LOOPBACK = "only, which a Service cannot reach; bind 0.0.0.0"


def plan_of(tmp_path: Path, files: dict[str, str]) -> BuildPlan:
    app = make_app(tmp_path, {"requirements.txt": "flask\n", **files})
    return detect(app, load_spec(app))


def procfile_plan(tmp_path: Path, web: str, files: dict[str, str] | None = None) -> BuildPlan:
    return plan_of(tmp_path, {"Procfile": f"web: {web}\n", **(files or {})})


@pytest.mark.parametrize(
    ("web", "port", "host"),
    [
        # gunicorn binds 0.0.0.0:$PORT when PORT is set and nothing else binds
        ("gunicorn app:app", 5000, "0.0.0.0"),
        ("gunicorn -b 0.0.0.0:$PORT app:app", 5000, "0.0.0.0"),
        ("gunicorn --bind 0.0.0.0:${PORT} app:app", 5000, "0.0.0.0"),
        ("gunicorn --bind=0.0.0.0:${PORT:-8000} app:app", 5000, "0.0.0.0"),
        ("gunicorn --bind 0.0.0.0:${PORT-8000} app:app", 5000, "0.0.0.0"),
        ("gunicorn -b 0.0.0.0:8000 app:app", 8000, "0.0.0.0"),
        ("gunicorn -b0.0.0.0:7000 app:app", 7000, "0.0.0.0"),
        ("gunicorn -b [::]:8080 app:app", 8080, "::"),
        ("gunicorn -b :9000 app:app", 9000, "0.0.0.0"),
        ("gunicorn -b 0.0.0.0 app:app", 8000, "0.0.0.0"),
        ("gunicorn -b tcp://0.0.0.0:8001 app:app", 8001, "0.0.0.0"),
        ("gunicorn -b 127.0.0.1:8000 -b 0.0.0.0:8001 app:app", 8001, "0.0.0.0"),
        ("gunicorn -b ${HOST:-0.0.0.0}:${APP_PORT:-8002} app:app", 8002, "0.0.0.0"),
        ("gunicorn -b $HOST:$PORT app:app", 5000, None),
        ("PORT=8081 gunicorn app:app", 8081, "0.0.0.0"),
        ("python -m gunicorn -b 0.0.0.0:8003 app:app", 8003, "0.0.0.0"),
        # uvicorn does not read PORT: 127.0.0.1:8000 unless told
        ("uvicorn main:app --host 0.0.0.0 --port $PORT", 5000, "0.0.0.0"),
        ("uvicorn main:app --host=0.0.0.0 --port=${PORT:-8000}", 5000, "0.0.0.0"),
        ("uvicorn main:app --host 0.0.0.0 --port 8080", 8080, "0.0.0.0"),
        ("uvicorn --factory main:create_app --host :: --port $PORT", 5000, "::"),
        ("python -m uvicorn main:app --host 0.0.0.0", 8000, "0.0.0.0"),
        # hypercorn, daphne, granian, waitress
        ("hypercorn main:app --bind 0.0.0.0:$PORT", 5000, "0.0.0.0"),
        ("hypercorn -b [::]:8000 main:app", 8000, "::"),
        ("daphne -b 0.0.0.0 -p $PORT proj.asgi:application", 5000, "0.0.0.0"),
        ("daphne --bind 0.0.0.0 proj.asgi:application", 8000, "0.0.0.0"),
        ("daphne -e tcp:port=9000:interface=0.0.0.0 proj.asgi:application", 9000, "0.0.0.0"),
        ("granian --interface asgi --host 0.0.0.0 --port $PORT main:app", 5000, "0.0.0.0"),
        ("waitress-serve --port=$PORT app:app", 5000, "0.0.0.0"),
        ("waitress-serve --listen=*:8080 app:app", 8080, "0.0.0.0"),
        ("waitress-serve app:app", 8080, "0.0.0.0"),
        # framework CLIs and the standard library
        ("python -m flask run --host=0.0.0.0 --port=$PORT", 5000, "0.0.0.0"),
        ("flask --app app run -h 0.0.0.0 -p 8000", 8000, "0.0.0.0"),
        ("fastapi run main.py", 8000, "0.0.0.0"),
        ("fastapi run main.py --port 9000", 9000, "0.0.0.0"),
        ("streamlit run app.py", 8501, "0.0.0.0"),
        ("streamlit run app.py --server.port $PORT --server.address 0.0.0.0", 5000, "0.0.0.0"),
        ("python -m streamlit run app.py --server.port=8502", 8502, "0.0.0.0"),
        ("python -m http.server $PORT", 5000, "0.0.0.0"),
        ("python3 -m http.server 8000", 8000, "0.0.0.0"),
        ("python manage.py runserver 0.0.0.0:$PORT", 5000, "0.0.0.0"),
        ("python manage.py runserver 0:8000", 8000, "0.0.0.0"),
        ("django-admin runserver [::]:8000", 8000, "::"),
        # shells, wrappers and runners around the server
        ("python manage.py migrate && gunicorn proj.wsgi -b 0.0.0.0:8000", 8000, "0.0.0.0"),
        ("sh -c 'cd src && exec uvicorn main:app --host 0.0.0.0 --port 8080'", 8080, "0.0.0.0"),
        ('bash -c "uvicorn main:app --host 0.0.0.0 --port 8080 2>&1 | tee log"', 8080, "0.0.0.0"),
        ("exec poetry run gunicorn -b 0.0.0.0:8000 app:app", 8000, "0.0.0.0"),
        ("uv run --with gunicorn gunicorn -b 0.0.0.0:8000 app:app", 8000, "0.0.0.0"),
        ("pipenv run uvicorn main:app --host 0.0.0.0 --port 8010", 8010, "0.0.0.0"),
        ("newrelic-admin run-program gunicorn app:app --bind 0.0.0.0:7000", 7000, "0.0.0.0"),
        ("env WEB_CONCURRENCY=3 ddtrace-run gunicorn -b :7001 app:app", 7001, "0.0.0.0"),
        (".venv/bin/gunicorn -b 0.0.0.0:7002 app:app > /dev/null", 7002, "0.0.0.0"),
    ],
)
def test_web_command_forms(tmp_path: Path, web: str, port: int, host: str | None) -> None:
    plan = procfile_plan(tmp_path, web)
    assert (plan.port, plan.listen_host) == (port, host)
    assert plan.warnings == []
    assert plan.web_command_source == "app spec"


@pytest.mark.parametrize(
    ("web", "warning"),
    [
        (
            "uvicorn main:app",
            f"web listens on 127.0.0.1:8000 {LOOPBACK} (e.g. --host 0.0.0.0 --port $PORT)",
        ),
        (
            "gunicorn -b 127.0.0.1:8000 app:app",
            f"web listens on 127.0.0.1:8000 {LOOPBACK} (e.g. --bind 0.0.0.0:$PORT)",
        ),
        ("gunicorn -b localhost app:app", f"web listens on localhost:8000 {LOOPBACK}"),
        ("gunicorn -b [::1]:$PORT app:app", f"web listens on ::1:5000 {LOOPBACK}"),
        (
            "hypercorn main:app",
            f"web listens on 127.0.0.1:8000 {LOOPBACK} (e.g. --bind 0.0.0.0:$PORT)",
        ),
        (
            "daphne -p 8001 proj.asgi:application",
            f"web listens on 127.0.0.1:8001 {LOOPBACK} (e.g. -b 0.0.0.0 -p $PORT)",
        ),
        ("granian --interface wsgi app:app", f"web listens on 127.0.0.1:8000 {LOOPBACK}"),
        ("waitress-serve --host=127.0.0.1 app:app", f"web listens on 127.0.0.1:8080 {LOOPBACK}"),
        (
            "flask run",
            f"web listens on 127.0.0.1:5000 {LOOPBACK} (e.g. --host 0.0.0.0 --port $PORT)",
        ),
        ("fastapi dev main.py", f"web listens on 127.0.0.1:8000 {LOOPBACK}"),
        (
            "python manage.py runserver",
            f"web listens on 127.0.0.1:8000 {LOOPBACK} (e.g. runserver 0.0.0.0:$PORT)",
        ),
        ("python -m http.server -b 127.0.0.1 8000", f"web listens on 127.0.0.1:8000 {LOOPBACK}"),
        (
            "streamlit run app.py --server.address localhost",
            f"web listens on localhost:8501 {LOOPBACK}",
        ),
        ("gunicorn -b 0.0.0.0:$PORT", "app: gunicorn is given no app; name it as module:variable"),
    ],
)
def test_warnings(tmp_path: Path, web: str, warning: str) -> None:
    plan = procfile_plan(tmp_path, web)
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith(warning)


def test_flask_run_reads_its_environment(tmp_path: Path) -> None:
    env = '{"env": {"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "8000"}}'
    plan = procfile_plan(tmp_path, "flask run", {"app.json": env})
    assert (plan.port, plan.listen_host, plan.warnings) == (8000, "0.0.0.0", [])


@pytest.mark.parametrize(
    ("web", "message"),
    [
        (
            "gunicorn -b unix:/tmp/app.sock app:app",
            "app: processes.web: gunicorn listens on 'unix:/tmp/app.sock', not a TCP port",
        ),
        ("gunicorn --bind fd://3 app:app", "gunicorn listens on 'fd://3', not a TCP port"),
        ("uvicorn main:app --uds /tmp/u.sock", "uvicorn listens on '/tmp/u.sock', not a TCP port"),
        ("uvicorn main:app --fd 3", "uvicorn listens on '3', not a TCP port"),
        ("hypercorn -b unix:/tmp/h.sock main:app", "hypercorn listens on 'unix:/tmp/h.sock'"),
        ("daphne -u /tmp/d.sock proj.asgi:application", "daphne listens on '/tmp/d.sock'"),
        ("granian --uds /tmp/g.sock main:app", "granian listens on '/tmp/g.sock'"),
        ("waitress-serve --unix-socket=/tmp/w.sock app:app", "waitress listens on '/tmp/w.sock'"),
        (
            "gunicorn -c conf/missing.py app:app",
            "app: processes.web: gunicorn's config file 'conf/missing.py' is not in the app",
        ),
    ],
)
def test_errors(tmp_path: Path, web: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        procfile_plan(tmp_path, web)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


GUNICORN_PORT_CONF = """import os
port = os.environ.get("PORT", "8000")
bind = f"0.0.0.0:{port}"
workers = int(os.environ.get("WEB_CONCURRENCY", 3))
"""


@pytest.mark.parametrize(
    ("web", "files", "port", "host", "workers"),
    [
        (
            "gunicorn app:app",
            {"gunicorn.conf.py": 'bind = "0.0.0.0:8000"\nworkers = 4\n'},
            8000,
            "0.0.0.0",
            4,
        ),
        ("gunicorn app:app", {"gunicorn.conf.py": GUNICORN_PORT_CONF}, 5000, "0.0.0.0", 3),
        ("gunicorn app:app", {"gunicorn.conf.py": 'bind = ["[::]:8080"]\n'}, 8080, "::", None),
        (
            "gunicorn app:app",
            {
                "gunicorn.conf.py": 'from os import environ as env\nbind = ":" + str(int(env.get("PORT", 8080)))\n'
            },
            5000,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn app:app",
            {"gunicorn.conf.py": 'bind = "{}:{}".format("0.0.0.0", 8004)\n'},
            8004,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn app:app",
            {"gunicorn.conf.py": 'bind = "%s:%d" % ("0.0.0.0", 8005)\n'},
            8005,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn app:app",
            {
                "gunicorn.conf.py": 'import os\nbind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8006")\n'
            },
            8006,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn app:app",
            {"gunicorn.conf.py": "import json\nbind = json.load(open('b'))\n"},
            5000,
            None,
            None,
        ),
        ("gunicorn app:app", {"gunicorn.conf.py": "if True:\n    bind = ':1'\n"}, 5000, None, None),
        ("gunicorn app:app", {"gunicorn.conf.py": "timeout = 30\n"}, 5000, "0.0.0.0", None),
        ("gunicorn app:app", {"gunicorn.conf.py": "this is not python\n"}, 5000, "0.0.0.0", None),
        (
            "gunicorn -b 0.0.0.0:9000 app:app",
            {"gunicorn.conf.py": 'bind = "0.0.0.0:8000"\n'},
            9000,
            "0.0.0.0",
            None,
        ),
        ("gunicorn -w 2 app:app", {"gunicorn.conf.py": "workers = 4\n"}, 5000, "0.0.0.0", 2),
        (
            "gunicorn -c conf/gunicorn.py app:app",
            {"conf/gunicorn.py": 'bind = ":7000"\nworkers = 3\n'},
            7000,
            "0.0.0.0",
            3,
        ),
        (
            "gunicorn --config=file:conf/g.py app:app",
            {"conf/g.py": 'bind = ":7001"\n'},
            7001,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn -c python:conf.web app:app",
            {"conf/web.py": 'bind = ":7002"\n'},
            7002,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn -c /app/conf/g.py app:app",
            {"conf/g.py": 'bind = ":7003"\n'},
            7003,
            "0.0.0.0",
            None,
        ),
        (
            "gunicorn",
            {"gunicorn.conf.py": 'wsgi_app = "app:app"\nbind = ":7004"\n'},
            7004,
            "0.0.0.0",
            None,
        ),
        # -c replaces the default file
        (
            "gunicorn -c conf/g.py app:app",
            {"conf/g.py": "", "gunicorn.conf.py": 'bind = ":1"\n'},
            5000,
            "0.0.0.0",
            None,
        ),
        ("gunicorn -w ${WEB_CONCURRENCY:-5} app:app", {}, 5000, "0.0.0.0", 5),
        ("gunicorn --paste production.ini -b :7005", {}, 7005, "0.0.0.0", None),
    ],
)
def test_gunicorn_config_files(
    tmp_path: Path,
    web: str,
    files: dict[str, str],
    port: int,
    host: str | None,
    workers: int | None,
) -> None:
    plan = procfile_plan(tmp_path, web, files)
    assert (plan.port, plan.listen_host, plan.web_workers) == (port, host, workers)
    assert plan.warnings == []


def test_gunicorn_config_binding_a_socket(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError, match=r"^gunicorn.conf.py: bind: gunicorn listens on 'unix:/run/g.sock'"
    ):
        procfile_plan(
            tmp_path, "gunicorn app:app", {"gunicorn.conf.py": 'bind = "unix:/run/g.sock"\n'}
        )


def test_gunicorn_config_outside_the_app_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text('bind = ":7777"\n')
    app = make_app(tmp_path, {"Procfile": "web: gunicorn app:app\n", "requirements.txt": ""})
    (app / "gunicorn.conf.py").symlink_to(tmp_path / "outside.py")
    plan = detect(app, load_spec(app))
    assert (plan.port, plan.listen_host) == (5000, "0.0.0.0")


@pytest.mark.parametrize(
    ("files", "port", "source"),
    [
        (
            {"shipway.yaml": "name: a\nport: 8000\n", "Procfile": "web: gunicorn app:app\n"},
            8000,
            "app spec",
        ),
        (
            {"app.json": '{"env": {"PORT": "7000"}}', "Procfile": "web: gunicorn app:app\n"},
            7000,
            "app spec",
        ),
        ({"Procfile": "web: gunicorn -b 0.0.0.0:9000 app:app\n"}, 9000, "web command"),
        ({"Procfile": "web: fastapi run\n"}, 8000, "fastapi default"),
        ({"Procfile": "web: uvicorn m:a --host 0.0.0.0\n"}, 8000, "uvicorn default"),
        ({"Procfile": "web: waitress-serve app:app\n"}, 8080, "waitress default"),
        ({"Procfile": "web: python -m http.server\n"}, 8000, "http.server default"),
        ({"Procfile": "web: python -m http.server 8001\n"}, 8001, "web command"),
        ({"Procfile": "web: gunicorn app:app\n"}, 5000, "default"),
        (
            {"Procfile": "web: python app.py\n", "app.py": "app.run(host='0.0.0.0', port=8081)\n"},
            8081,
            "source",
        ),
        (
            {
                "Procfile": "web: python -m mypkg\n",
                "mypkg/__main__.py": "PORT = int(os.getenv('PORT', 8082))\n",
            },
            8082,
            "source",
        ),
        (
            {"Procfile": "web: python -m mypkg\n", "src/mypkg/__main__.py": "serve(port=8083)\n"},
            8083,
            "source",
        ),
        ({"Procfile": "web: python app.py\n", "app.py": "serve()\n"}, 5000, "default"),
        (
            {
                "Procfile": "web: bin/web\n",
                "bin/web": "#!/bin/sh\nset -e\nexec gunicorn -b 0.0.0.0:8090 app:app\n",
            },
            8090,
            "web command",
        ),
        (
            {
                "Procfile": "web: sh ./start.sh\n",
                "start.sh": "python manage.py migrate\nuvicorn m:a --host 0.0.0.0 --port 8091\n",
            },
            8091,
            "web command",
        ),
        (
            {
                "Procfile": "web: ./serve.py\n",
                "serve.py": "#!/usr/bin/env python\nrun(port=8092)\n",
            },
            5000,
            "default",
        ),
    ],
)
def test_port_sources(tmp_path: Path, files: dict[str, str], port: int, source: str) -> None:
    plan = plan_of(tmp_path, files)
    assert (plan.port, plan.port_source) == (port, source)


def test_a_fixed_port_wins_over_a_declared_one(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {
            "shipway.yaml": "name: a\nport: 8000\n",
            "Procfile": "web: gunicorn -b 0.0.0.0:9000 app:app\n",
        },
    )
    assert plan.port == 9000
    assert plan.warnings == [
        "app spec declares port 8000 but the web command listens on 9000; Shipway uses 9000 "
        "(to follow PORT, start gunicorn with e.g. --bind 0.0.0.0:$PORT)"
    ]


def test_a_server_default_port_wins_over_a_declared_one(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {"shipway.yaml": "name: a\nport: 5000\n", "Procfile": "web: uvicorn m:a --host 0.0.0.0\n"},
    )
    assert (plan.port, plan.port_source) == (8000, "uvicorn default")
    assert plan.warnings == [
        "app spec declares port 5000 but uvicorn listens on its default port 8000; Shipway uses "
        "8000 (to follow PORT, start uvicorn with e.g. --host 0.0.0.0 --port $PORT)"
    ]


def test_exec_form_does_not_expand_port(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {
            "shipway.yaml": 'name: a\nprocesses:\n  web: [gunicorn, -b, "0.0.0.0:$PORT", "app:app"]\n'
        },
    )
    assert plan.listen_host == "0.0.0.0"
    assert plan.warnings == [
        "app: the web command is an exec-form list, so no shell expands $PORT; "
        "write it as one string, or use $(PORT)"
    ]
    kube = plan_of(
        tmp_path / "k",
        {
            "shipway.yaml": 'name: a\nprocesses:\n  web: [uvicorn, m:a, --host, "::", --port, "$(PORT)"]\n'
        },
    )
    assert (kube.port, kube.listen_host, kube.warnings) == (5000, "::", [])


@pytest.mark.parametrize(
    "web", ["gunicorn 'unbalanced app:app", "", "./missing-script", "celery -A tasks worker"]
)
def test_unreadable_or_unknown_commands_keep_the_defaults(tmp_path: Path, web: str) -> None:
    files = (
        {"Procfile": f"web: {web}\n"}
        if web
        else {"shipway.yaml": "name: a\nprocesses:\n  web: ' '\n"}
    )
    if not web:
        with pytest.raises(SpecError, match="the command is empty"):
            plan_of(tmp_path, files)
        return
    plan = plan_of(tmp_path, files)
    assert (plan.port, plan.port_source, plan.listen_host, plan.warnings) == (
        5000,
        "default",
        None,
        [],
    )
