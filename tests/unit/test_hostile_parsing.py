"""Issue 10, class 5 (spec and detection): every parser of an app's files is bounded.

A few hundred bytes of YAML aliases once took tens of seconds and gigabytes; a deep
TOML array raised ``RecursionError``. Each hostile document here is built at test time
and must be refused with the one-line error that names the file and the limit, quickly
(a generous wall-clock bound: the machine is shared) and in little memory (traced).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shipway.errors import SpecError
from shipway.project import load
from shipway.spec.documents import MAX_ALIASES, MAX_DEPTH, MAX_VALUES
from shipway.spec.procfile import MAX_LINE, MAX_LINES
from tests.helpers.appdir import make_app, web_command

#: Generous (the machine is shared, and tracing slows Python down): the bomb alone took
#: tens of seconds and gigabytes before the bounds.
SECONDS = 10.0
MEGABYTES = 64
NESTED = f"is nested more than {MAX_DEPTH} levels deep; flatten it"
TOO_MANY = f"holds more than {MAX_VALUES} values (aliases expanded)"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """``width ** levels`` values once expanded (387 million), in under 500 bytes."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@contextmanager
def bounded() -> Iterator[None]:
    """The block finishes within ``SECONDS`` and allocates at most ``MEGABYTES`` at once."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < SECONDS, f"took {elapsed:.1f}s"
    assert peak < MEGABYTES * 1024 * 1024, f"peaked at {peak / 2**20:.0f} MiB"


def refused(tmp_path: Path, files: dict[str, str]) -> str:
    app = make_app(tmp_path, {"app.py": "", **files})
    with bounded(), pytest.raises(SpecError) as caught:
        load(app)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", ["shipway.yaml", ".cupaas.yml", "render.yaml"])
def test_a_yaml_alias_bomb(tmp_path: Path, name: str) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 500
    assert refused(tmp_path, {name: bomb}) == (  # a4 is the first past the limit: 9 ** 5
        f"{name}:5: a4: {TOO_MANY}; an app description is a few lines long; "
        "write it out without aliases"
    )


def test_an_alias_bomb_in_another_tools_app_yaml_is_not_app_engines(tmp_path: Path) -> None:
    """``app.yaml`` that Shipway cannot read is someone else's file: ignored, in bounds."""
    bomb = "runtime: python312\nentrypoint: gunicorn app:app\n" + alias_bomb()
    app = make_app(tmp_path, {"app.py": "", "app.yaml": bomb})
    with bounded():
        plan = load(app).plan
    assert web_command(plan) == "python app.py" and plan.python_version == "3.12"


def test_too_many_aliases(tmp_path: Path) -> None:
    aliases = ", ".join(["*w"] * (MAX_ALIASES + 1))
    assert refused(tmp_path, {"shipway.yaml": f"name: a\nx: &w web\ny: [{aliases}]\n"}) == (
        f"shipway.yaml:3: uses more than {MAX_ALIASES} aliases; write the values out"
    )


def test_a_key_that_is_a_list(tmp_path: Path) -> None:
    document = "name: a\n? [web, worker]\n: x\n"
    assert refused(tmp_path, {"shipway.yaml": document}) == (
        "shipway.yaml: has a key that is not a plain value; use a name as key"
    )


@pytest.mark.parametrize(
    ("name", "document", "where"),
    [
        ("shipway.yaml", "a: " + "[" * 100_000 + "]" * 100_000, "shipway.yaml:1"),
        ("shipway.yaml", "".join(" " * i + f"k{i}:\n" for i in range(60)), "shipway.yaml:33"),
        ("render.yaml", "services: " + "{a: " * 50_000 + "1" + "}" * 50_000, "render.yaml:1"),
        ("app.json", "[" * 100_000 + "]" * 100_000, "app.json"),
        ("railway.json", '{"deploy": ' + "[" * 40 + "]" * 40 + "}", "railway.json"),
        ("pyproject.toml", "a = " + "[" * 100_000 + "]" * 100_000, "pyproject.toml"),
        ("pyproject.toml", "a = " + "{b = " * 1000 + "1" + "}" * 1000, "pyproject.toml"),
        ("Pipfile", "[" + ".".join(["t"] * 40) + "]\n", "Pipfile"),
        ("fly.toml", "x." * 40 + "y = 1\n", "fly.toml"),
    ],
)
def test_deep_nesting(tmp_path: Path, name: str, document: str, where: str) -> None:
    message = refused(tmp_path, {name: document})
    assert message.startswith(f"{where}: ") and message.endswith(NESTED)


def test_many_values_stop_the_parse_early(tmp_path: Path) -> None:
    values = "[" + "1," * 120_000 + "1]"  # 240 KB: within the size cap
    assert refused(tmp_path, {"shipway.yaml": f"name: a\nx: {values}\n"}).startswith(
        f"shipway.yaml:2: {TOO_MANY}"
    )


def test_a_document_past_the_size_cap(tmp_path: Path) -> None:
    assert refused(tmp_path, {"app.json": " " * 300_000 + "{}"}) == (
        "app.json: is larger than 256 KiB; make it smaller"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"shipway.yaml": "name: a\nport: 0x" + "f" * 5000 + "\n"}, "shipway.yaml:2: port: is a"),
        ({"shipway.yaml": "name: a\nport: .nan\n"}, "shipway.yaml:2: port: is a"),
        ({"shipway.yaml": "name: a\nport: " + "9" * 5000 + "\n"}, "shipway.yaml: holds a value"),
        ({"app.json": '{"env": {"A": 1e400}}'}, "app.json: env.A: is a"),
        ({"app.json": '{"env": {"A": NaN}}'}, "app.json: holds a"),
        ({"app.json": '{"env": {"A": -Infinity}}'}, "app.json: holds a"),
        ({"app.json": '{"env": {"A": ' + "9" * 5000 + "}}"}, "app.json: holds a"),
        ({"pyproject.toml": "[project]\nx = nan\n"}, "pyproject.toml: project.x: is a"),
        ({"pyproject.toml": "[project]\nx = " + "9" * 5000 + "\n"}, "pyproject.toml: holds a"),
        ({"fly.toml": "[env]\nPORT = -inf\n"}, "fly.toml: env.PORT: is a"),
    ],
)
def test_numbers_that_cannot_be_settings(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    message = refused(tmp_path, files)
    assert message.startswith(expected)
    assert "number that is infinite, NaN or longer than 100 digits" in message or (
        message.endswith("holds a value that cannot be converted; quote the value")
    )


def test_a_procfile_of_too_many_lines(tmp_path: Path) -> None:
    procfile = "# nothing\n" * MAX_LINES + "web: python app.py\n"
    assert refused(tmp_path, {"Procfile": procfile}) == (
        f"Procfile: has more than {MAX_LINES} lines; keep one line per process type"
    )


def test_a_procfile_line_too_long(tmp_path: Path) -> None:
    procfile = "worker: echo " + "x" * MAX_LINE + "\n"
    assert refused(tmp_path, {"Procfile": "web: python app.py\n" + procfile}) == (
        f"Procfile:2: is longer than {MAX_LINE} characters; move the command to a script"
    )


def test_too_many_process_types(tmp_path: Path) -> None:
    procfile = "".join(f"p{n}: python app.py\n" for n in range(51))
    assert refused(tmp_path, {"Procfile": procfile}) == (
        "Procfile:1: processes: Dictionary should have at most 50 items after validation, "
        "not more; declare at most 50 process types"
    )


@pytest.mark.parametrize(
    "cmd", ["[" * 100_000 + "]" * 100_000, '["gunicorn", ' + "9" * 5000 + "]", "[1e400]"]
)
def test_a_dockerfile_exec_form_that_is_not_json_is_the_shell_form(
    tmp_path: Path, cmd: str
) -> None:
    app = make_app(tmp_path, {"app.py": "", "Dockerfile": f"FROM python\nCMD {cmd}\n"})
    with bounded():
        plan = load(app).plan
    assert plan.dockerfile_command == ["/bin/sh", "-c", cmd]


def test_a_deep_hypercorn_config_is_unknown_not_a_crash(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "app.py": "",
            "Procfile": "web: hypercorn -c h.toml app:app\n",
            "h.toml": "bind = " + "[" * 100_000 + "]" * 100_000,
        },
    )
    with bounded():
        plan = load(app).plan
    assert web_command(plan) == "hypercorn -c h.toml app:app" and plan.port == 5000
