"""Issue 10, class 8: inputs that once ended in an internal error (exit 70) are one-line
errors with exit 2, and a wrong type in app.json, pyproject.toml or shipway.yaml is an
error, not a silent default."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.appdir import make_app
from tests.helpers.cli import shipway
from tests.unit.test_hostile_app_files import run_cli

TOKEN = "sekrit-token-0123456789"


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_render_out_an_existing_file(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"requirements.txt": "flask\n", "app.py": ""})
    taken = tmp_path / "taken"
    taken.write_text("keep me\n")
    assert "is a file, not a directory" in one_line(shipway("render", app, "--out", taken))
    assert taken.read_text() == "keep me\n"


@pytest.mark.parametrize(
    "content",
    [
        "{}\n",
        "clusters: 7\n",
        f"apiVersion: v1\nusers:\n- name: u\n  user: {{token: {TOKEN}}}\ncontexts: [1, 2]\n",
        f"not: [yaml, {TOKEN}\n",
    ],
)
def test_a_broken_kubeconfig_is_named_never_quoted(tmp_path: Path, content: str) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(content)
    line = one_line(shipway("apps", env={"KUBECONFIG": str(config)}))
    assert str(config) in line and "not a valid kubeconfig" in line
    assert TOKEN not in line


@pytest.mark.parametrize("quantity", ["false", "true", "1.5", '"2"', "null"])
def test_formation_quantity_must_be_a_whole_number(tmp_path: Path, quantity: str) -> None:
    app = make_app(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": "",
            "app.json": f'{{"formation": {{"web": {{"quantity": {quantity}}}}}}}',
        },
    )
    line = one_line(shipway("inspect", app))
    assert "app.json:1: formation.web.quantity: must be a whole number" in line


PEP621 = "see the pyproject.toml specification (PEP 621)"
SCHEMA = "see Heroku's app.json schema"
NUMBER = (
    "is a number that is infinite, NaN or longer than 100 digits; "
    "write a plain number, or quote it to make it a string"
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "tool = 3\n"}, f"pyproject.toml: tool: must be a table; {PEP621}"),
        (
            {"pyproject.toml": "[tool]\npoetry = 'x'\n"},
            f"pyproject.toml: tool.poetry: must be a table; {PEP621}",
        ),
        (
            {"pyproject.toml": "[tool]\nuv = []\n"},
            f"pyproject.toml: tool.uv: must be a table; {PEP621}",
        ),
        (
            {"pyproject.toml": "project = 1\n"},
            f"pyproject.toml: project: must be a table; {PEP621}",
        ),
        (
            {"pyproject.toml": "[project]\nscripts = ['a']\n"},
            f"pyproject.toml: project.scripts: must be a table; {PEP621}",
        ),
        (
            {"pyproject.toml": "[project]\ndependencies = 'flask'\n"},
            f"pyproject.toml: project.dependencies: must be an array; {PEP621}",
        ),
        (
            {"pyproject.toml": "[project]\ndependencies = [1]\n"},
            f"pyproject.toml: project.dependencies.0: must be a string; {PEP621}",
        ),
        (
            {"pyproject.toml": "[tool.poetry]\ndependencies = ['flask']\n"},
            f"pyproject.toml: tool.poetry.dependencies: must be a table; {PEP621}",
        ),
        (
            {"pyproject.toml": "[tool.poetry]\npackage-mode = 'no'\n"},
            f"pyproject.toml: tool.poetry.package-mode: must be true or false; {PEP621}",
        ),
        (
            {"pyproject.toml": "[build-system]\nrequires = 'setuptools'\n"},
            f"pyproject.toml: build-system.requires: must be an array; {PEP621}",
        ),
        (
            {"Pipfile": "packages = 1\n"},
            "Pipfile: packages: must be a table; see Pipenv's Pipfile format",
        ),
        (
            {"app.json": '{"formation": {"web": {"quantity": 1' + "0" * 100 + "}}}"},
            f"app.json: formation.web.quantity: {NUMBER}",
        ),
        (
            {"app.json": '{"formation": {"web": {"quantity": 1e400}}}'},
            f"app.json: formation.web.quantity: {NUMBER}",
        ),
        (
            {"app.json": '{"formation": {"web": {"quantity": NaN}}}'},
            "app.json: holds a number that is infinite, NaN or longer than 100 digits; write a plain number, or quote it to make it a string",
        ),
        (
            {"app.json": '{"formation": {"web": {"quantity": 101}}}'},
            'app.json:1: formation.web.quantity: must be from 0 to 100; write e.g. {"quantity": 2}',
        ),
        (
            {"app.json": '{"formation": {"web": {"quantity": -1}}}'},
            'app.json:1: formation.web.quantity: must be from 0 to 100; write e.g. {"quantity": 2}',
        ),
        (
            {"app.json": '{"env": ["A"]}'},
            f"app.json:1: env: must be an object of config vars; {SCHEMA}",
        ),
        (
            {"app.json": '{"env": null}'},
            f"app.json:1: env: must be an object of config vars; {SCHEMA}",
        ),
        (
            {"app.json": '{"formation": [1]}'},
            f"app.json:1: formation: must be an object of process types; {SCHEMA}",
        ),
        (
            {"app.json": '{"formation": {"web": 2}}'},
            f"app.json:1: formation.web: must be an object; {SCHEMA}",
        ),
        (
            {"app.json": '{"formation": {"web": {"size": 2}}}'},
            f"app.json:1: formation.web.size: must be a dyno size; {SCHEMA}",
        ),
        ({"app.json": '{"name": 7}'}, f"app.json:1: name: must be a string; {SCHEMA}"),
        (
            {"app.json": '{"addons": "heroku-redis"}'},
            f"app.json:1: addons: must be a list; {SCHEMA}",
        ),
        (
            {"app.json": '{"env": {"A": {"required": "yes"}}}'},
            f"app.json:1: env.A.required: must be true or false; {SCHEMA}",
        ),
        ({"app.json": "[1]"}, f"app.json: must be a JSON object; {SCHEMA}"),
        ({"shipway.yaml": "name: a\nport: 1e400\n"}, f"shipway.yaml:2: port: {NUMBER}"),
        (
            {"shipway.yaml": "name: a\nport: -1\n"},
            "shipway.yaml:2: port: Input should be greater than or equal to 1; use a TCP port between 1 and 65535",
        ),
        (
            {"shipway.yaml": "name: a\nport: true\n"},
            "shipway.yaml:2: port: Input should be a valid integer; use a TCP port between 1 and 65535",
        ),
        (
            {"shipway.yaml": "name: a\nreplicas: false\nprocesses: {web: python app.py}\n"},
            "shipway.yaml:2: processes.web.replicas: Input should be a valid integer; use a whole number from 0 to 100",
        ),
        (
            {"shipway.yaml": "name: a\nprocesses: {web: {command: x, replicas: 2.5}}\n"},
            "shipway.yaml:2: processes.web.replicas: Input should be a valid integer; use a whole number from 0 to 100",
        ),
        (
            {"shipway.yaml": "name: a\nread_only: 'yes'\n"},
            "shipway.yaml:2: read_only: Input should be a valid boolean; correct the value",
        ),
    ],
)
def test_wrong_types_and_absurd_numbers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    expected: str,
) -> None:
    app = make_app(tmp_path, {"requirements.txt": "flask\n", "app.py": "", **files})
    assert run_cli(monkeypatch, "inspect", app) == 2
    assert capsys.readouterr() == ("", f"error: {expected}\n")


@pytest.mark.parametrize("name", ["Procfile", "pyproject.toml", ".python-version"])
def test_a_symlink_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    app = make_app(tmp_path, {"app.py": ""})
    (app / name).symlink_to(f"../app/{name}")
    assert run_cli(monkeypatch, "render", app, "--out", tmp_path / "out") == 2
    loop = f"error: {name}: is a symbolic link loop; replace the link with the file\n"
    assert capsys.readouterr() == ("", loop)
    assert not (tmp_path / "out").exists()
