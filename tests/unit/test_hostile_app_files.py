"""Issue 10, class 2: every file Shipway reads from an app is inside the app once links
are resolved, is a regular file, and is never echoed beyond a short, clean excerpt.

Each test builds its hostile app at test time (links out of the app, loops, FIFOs,
directories where files belong) and asserts the exact one-line error, that nothing of
the outside file reaches a message or a result, and that nothing blocks.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.cli import main as cli_main
from shipway.errors import SpecError
from shipway.project import load
from tests.helpers.appdir import make_app, web_command

#: The content of a host file an app points at: it must never be read back.
SECRET = "TOP-SECRET-4b1d"
OUTSIDE = f"{SECRET}\npython-3.12\nweb: gunicorn -b 0.0.0.0:9999 {SECRET}:app\nname: {SECRET}\n"
#: Every file the spec loaders and detection read, given the app below.
NAMES = (
    "shipway.yaml", "shipway.yml", "Procfile", "app.json", ".cupaas.yml", ".cupaas.yaml",
    "runtime.txt", ".python-version", ".tool-versions", "pyproject.toml", "Pipfile",
    "requirements.txt", "setup.py", "Dockerfile", "fly.toml", "railway.json", "railway.toml",
    "nixpacks.toml", "render.yaml", "app.yaml",
)  # fmt: skip
LINKED = "links outside the app directory; copy the file into the app instead"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A directory beside the app, holding a file no app may read."""
    path = tmp_path / "host"
    path.mkdir()
    (path / "secret").write_text(OUTSIDE)
    (path / "post_compile").write_text(OUTSIDE)
    return path


def load_error(app: Path) -> str:
    """The one-line error loading ``app`` gives, checked to hold nothing of the host."""
    with pytest.raises(SpecError) as caught:
        load(app)
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message and "9999" not in message
    return message


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> int:
    """``shipway ARGS`` in this process, as ``main`` runs it; its exit code."""
    monkeypatch.setattr(sys, "argv", ["shipway", *map(str, args)])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    return int(exited.value.code or 0)


@pytest.fixture
def alarm() -> Iterator[None]:
    """A read that blocks (a FIFO) fails the test instead of hanging the run."""

    def timeout(_signum: int, _frame: object) -> None:
        raise TimeoutError("a read blocked")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", NAMES)
def test_a_file_linking_out_of_the_app_is_named_never_read(
    tmp_path: Path, host: Path, name: str
) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / name).symlink_to(host / "secret")
    assert load_error(app) == f"{name}: {LINKED}"


def test_a_file_under_a_directory_linking_out_is_outside(tmp_path: Path, host: Path) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / "bin").symlink_to(host)
    assert load_error(app) == (
        "bin/post_compile: is outside the app directory; copy the file into the app instead"
    )


def test_a_config_file_a_command_names_out_of_the_app(tmp_path: Path, host: Path) -> None:
    app = make_app(tmp_path, {"app.py": "", "Procfile": "web: gunicorn -c conf/secret app:app\n"})
    (app / "conf").symlink_to(host)
    assert load_error(app) == (
        "conf/secret: is outside the app directory; copy the file into the app instead"
    )


def test_a_script_linking_out_is_not_read_for_hints(tmp_path: Path, host: Path) -> None:
    app = make_app(tmp_path, {"app.py": "", "Procfile": "web: bash start.sh\n"})
    (app / "start.sh").symlink_to(host / "secret")  # it binds 9999 and names the secret
    plan = load(app).plan
    assert plan.port != 9999 and web_command(plan) == "bash start.sh"
    assert SECRET not in plan.model_dump_json()


@pytest.mark.parametrize("name", ["Procfile", "app.json", "runtime.txt", "pyproject.toml"])
def test_a_dangling_link(tmp_path: Path, host: Path, name: str) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / name).symlink_to(app / "nowhere")
    missing = "is a link to a file that does not exist; remove the link"
    assert load_error(app) == f"{name}: {missing}"
    (app / name).unlink()
    (app / name).symlink_to(host / "nowhere")
    assert load_error(app) == f"{name}: {LINKED}"


@pytest.mark.parametrize("name", ["shipway.yaml", "Procfile", ".python-version", "Pipfile"])
@pytest.mark.parametrize("cycle", [1, 2])
def test_a_link_loop(tmp_path: Path, name: str, cycle: int) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    if cycle == 1:
        (app / name).symlink_to(name)
    else:
        (app / name).symlink_to("other")
        (app / "other").symlink_to(name)
    assert load_error(app) == f"{name}: is a symbolic link loop; replace the link with the file"


@pytest.mark.parametrize("name", ["shipway.yml", "Procfile", "runtime.txt", "requirements.txt"])
def test_a_directory_where_a_file_belongs(tmp_path: Path, name: str) -> None:
    app = make_app(tmp_path, {"app.py": "", f"{name}/inner": "web: x\n"})
    assert load_error(app) == f"{name}: is a directory, not a file; rename the directory"


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("name", ["Procfile", ".tool-versions", "fly.toml"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, name: str) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    os.mkfifo(app / name)
    assert load_error(app) == f"{name}: is not a regular file; replace it with a plain file"


def test_links_within_the_app_are_followed(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"app.py": "", "deploy/Procfile.prod": "web: python app.py\n", "config/rt": "3.11\n"},
    )
    (app / "Procfile").symlink_to("deploy/Procfile.prod")
    (app / ".python-version").symlink_to(app / "config" / "rt")
    plan = load(app).plan
    assert web_command(plan) == "python app.py" and plan.python_version == "3.11"


def test_an_app_directory_reached_through_a_link(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"app.py": "", "Procfile": "web: python app.py\n"})
    (tmp_path / "via").symlink_to(app)
    assert web_command(load(tmp_path / "via").plan) == "python app.py"


@pytest.mark.parametrize(
    ("name", "content", "start"),
    [
        ("Procfile", "\x1b]0;owned\x07\x1b[2J" + "A" * 5000, "Procfile:1: ']0;owned[2JAAAA"),
        ("runtime.txt", "\x1b[31mpython-" + "8" * 5000, "runtime.txt:1: runtime: '[31mpython-88"),
        (".python-version", "\u202epypy" + "3" * 5000, ".python-version:1: version: 'pypy333"),
        (
            "pyproject.toml",
            f'[project]\nrequires-python = "\\u001b[1m{"x" * 5000}"\n',
            "pyproject.toml: project.requires-python: '[1mxxx",
        ),
    ],
)
def test_an_echo_of_the_apps_own_file_is_short_and_clean(
    tmp_path: Path, name: str, content: str, start: str
) -> None:
    app = make_app(tmp_path, {"app.py": "", name: content + "\n"})
    message = load_error(app)
    assert message.startswith(start) and "...'" in message
    assert message.isprintable() and len(message) < 200


def test_the_cli_names_the_file_and_exits_2(
    tmp_path: Path, host: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / "Procfile").symlink_to(host / "secret")
    assert run_cli(monkeypatch, "inspect", app) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: Procfile: {LINKED}\n"
