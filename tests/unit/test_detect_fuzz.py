"""No app file may crash detection with anything but a one-line ShipwayError."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from shipway.detect import poetry, pyconfig
from shipway.detect.shell import simple_commands
from tests.helpers.appdir import loads_or_fails_in_one_line

DETECTION_FILES = (
    ".python-version",
    "runtime.txt",
    ".tool-versions",
    "Pipfile",
    "pyproject.toml",
    "gunicorn.conf.py",
    "railway.json",
    "railway.toml",
    "nixpacks.toml",
    "render.yaml",
    "fly.toml",
    "app.yaml",
    "Dockerfile",
    "manage.py",
)
WORDS = [
    "gunicorn", "uvicorn", "hypercorn", "daphne", "granian", "waitress-serve", "flask", "run",
    "fastapi", "streamlit", "python", "python3", "-m", "http.server", "manage.py", "runserver",
    "sh", "-c", "exec", "env", "poetry", "uv", "&&", "||", ";", "|", "&", ">", "2>&1", "'", '"',
    "-b", "--bind", "--bind=", "-w", "-c", "--config", "python:conf", "--host", "--port",
    "--uds", "-p", "-e", "tcp:port=8000", "--listen=*:", "unix:/x", "fd://3", "0.0.0.0:",
    "[::]:", ":", "127.0.0.1", "localhost", "$PORT", "${PORT}", "${PORT:-8000}", "$(PORT)",
    "${X:-", "}", "8000", "99999", "0", "app:app", "PORT=8081", "bin/start", "./start.sh",
]  # fmt: skip
FUZZ = settings(
    max_examples=int(os.environ.get("SHIPWAY_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
commands = st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=14).map(" ".join)


@FUZZ
@given(st.sampled_from(DETECTION_FILES), st.text(max_size=300))
def test_any_text(file: str, text: str) -> None:
    loads_or_fails_in_one_line({file: text, "app.py": ""})


@FUZZ
@given(st.sampled_from(DETECTION_FILES), st.binary(max_size=200))
def test_any_bytes(file: str, data: bytes) -> None:
    loads_or_fails_in_one_line({file: data, "app.py": ""})


@FUZZ
@given(commands, st.sampled_from(["", 'bind = ":7000"\n', "bind = 'unix:/s'\n", "x = (\n"]))
def test_any_procfile_command(command: str, conf: str) -> None:
    loads_or_fails_in_one_line(
        {"Procfile": f"web: {command}\n", "gunicorn.conf.py": conf, "start.sh": command}
    )


@FUZZ
@given(commands)
def test_any_dockerfile_command(command: str) -> None:
    loads_or_fails_in_one_line({"Dockerfile": f"FROM x\nCMD {command}\nEXPOSE {command[:10]}\n"})


@FUZZ
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=10))
def test_exec_form_commands(words: list[str]) -> None:
    for simple in simple_commands(words):
        assert isinstance(simple.args, list)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "bind = ",
                "workers = ",
                "port = ",
                "x = ",
                "import os\n",
                "from os import environ as e\n",
            ]
        )
        | st.sampled_from(
            [
                '"0.0.0.0:" + port',
                'f"{x}:{port}"',
                "os.environ.get('PORT', 1)",
                "e['PORT']",
                "'%s' % x",
                "'{}'.format(x)",
                "int(x)",
                "[x, port]",
                "x + x",
                "\n",
            ]
        )
        | st.text(max_size=6),
        max_size=20,
    ).map("".join)
)
def test_python_config_never_raises(source: str) -> None:
    values = pyconfig.settings(source)
    assert all(isinstance(name, str) for name in values)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            ["^", "~", "~=", ">=", "<", "==", "!=", "=", "*", ".*", "||", "|", ",", " "]
        )
        | st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,3}\Z"),
        max_size=8,
    ).map("".join)
)
def test_poetry_constraints_raise_only_value_error(constraint: str) -> None:
    try:
        result = poetry.to_pep440(constraint)
    except ValueError:
        return
    assert str(SpecifierSet(result)) == result  # a valid, canonical PEP 440 specifier
