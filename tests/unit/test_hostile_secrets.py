"""Issue 10, class 3 (the spec side): an error names files, lines and keys, never the
value of a config var, whichever way the app's files go wrong around one.

Config vars are the app's secrets (``env`` in shipway.yaml and app.json); the errors
below would each have quoted one: two files that disagree, a key given twice (the YAML
parser quoted both values), a syntax error inside a value, a value of the wrong type.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.errors import SpecError
from shipway.spec import load_spec
from tests.helpers.appdir import make_app
from tests.unit.test_hostile_app_files import run_cli

SECRET = "s3cr3t-Zq9"
OTHER = "0ther-s3cr3t-Kx1"


def spec_error(tmp_path: Path, files: dict[str, str]) -> str:
    app = make_app(tmp_path, {"app.py": "", **files})
    with pytest.raises(SpecError) as caught:
        load_spec(app)
    message = str(caught.value)
    assert SECRET not in message and OTHER not in message and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "shipway.yaml": f"name: a\nenv:\n  LOG: info\n  TOKEN: {SECRET}\n",
                "app.json": f'{{"env": {{\n  "TOKEN": "{OTHER}"\n}}}}',
            },
            "app.json:2: env.TOKEN: differs from the value shipway.yaml:4 gives; "
            "keep this setting in one file only",
        ),
        (
            {
                "shipway.yaml": f"name: a\nenv: {{TOKEN: {SECRET}}}\n",
                "app.json": f'{{"env": {{"TOKEN": {{"value": "{OTHER}", "required": true}}}}}}',
            },
            "app.json:1: env.TOKEN: differs from the value shipway.yaml:2 gives",
        ),
        (
            {"shipway.yaml": f"name: a\nenv:\n  TOKEN: {SECRET}\n  TOKEN: {OTHER}\n"},
            "shipway.yaml:4: invalid YAML (the key 'TOKEN' is given twice); fix the syntax",
        ),
        (
            {"app.json": f'{{"env": {{"TOKEN": "{SECRET}", "TOKEN": "{OTHER}"}}}}'},
            "app.json: the key 'TOKEN' is given twice in one object; keep one",
        ),
        (
            {"shipway.yaml": f'name: a\nenv:\n  TOKEN: "{SECRET}\\q"\n'},
            "shipway.yaml:3: invalid YAML (found unknown escape character 'q')",
        ),
        (
            {"shipway.yaml": f"name: a\nenv:\n  TOKEN: !!timestamp {SECRET}\n"},
            "shipway.yaml:3: invalid YAML (failed to construct timestamp from ...)",
        ),
        (
            {"shipway.yaml": f"name: a\nenv:\n  TOKEN: !!int {SECRET}\n"},
            "shipway.yaml: holds a value that cannot be converted; quote the value",
        ),
        (
            {"shipway.yaml": f"name: a\nenv:\n  TOKEN: [{SECRET}, {OTHER}]\n"},
            "shipway.yaml:3: env.TOKEN: has no plain value; give it a string value, or remove it",
        ),
        (
            {"app.json": f'{{"env": {{"TOKEN": {{"value": ["{SECRET}"]}}}}}}'},
            "app.json:1: env.TOKEN: has no plain value; give it a string 'value'",
        ),
        (
            {"shipway.yaml": f"name: a\nenv:\n  1TOKEN: {SECRET}\n"},
            "shipway.yaml:3: env.1TOKEN: String should match pattern",
        ),
        (
            {"app.json": '{"env": {"TOKEN": 1' + "0" * 200 + "}}"},
            "app.json: env.TOKEN: is a number that is infinite, NaN or longer than 100 digits",
        ),
    ],
)
def test_errors_around_config_vars_name_keys_never_values(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    assert expected in spec_error(tmp_path, files)


def test_other_settings_still_show_both_values(tmp_path: Path) -> None:
    """Only config vars are withheld: two different commands are shown, to be compared."""
    message = spec_error(
        tmp_path,
        {"shipway.yaml": "name: a\nprocesses: {web: python a.py}\n", "Procfile": "web: x\n"},
    )
    assert message == (
        "Procfile:1: processes.web.command: says 'x' but shipway.yaml:2 says 'python a.py'; "
        "keep this setting in one file only"
    )


def test_the_cli_names_the_clash_and_no_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(
        tmp_path,
        {
            "app.py": "",
            "shipway.yaml": f"name: a\nenv:\n  TOKEN: {SECRET}\n",
            "app.json": f'{{"env": {{"TOKEN": "{OTHER}"}}}}',
        },
    )
    assert run_cli(monkeypatch, "inspect", app, "--json") == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        "error: app.json:1: env.TOKEN: differs from the value shipway.yaml:3 gives; "
        "keep this setting in one file only\n"
    )


def test_inspect_shows_config_var_names_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(tmp_path, {"app.py": "", "shipway.yaml": f"name: a\nenv:\n  TOKEN: {SECRET}\n"})
    assert run_cli(monkeypatch, "inspect", app, "--json") == 0
    out, err = capsys.readouterr()
    assert '"TOKEN": "(hidden)"' in out and SECRET not in out + err
