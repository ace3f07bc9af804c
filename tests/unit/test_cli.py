"""The shipway command as a user runs it: exit codes, one-line errors, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.helpers.appdir import make_app
from tests.helpers.cli import shipway


def test_render_the_tasks_example(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = shipway("render", EXAMPLES / "tasks", "--out", out, "--expose", "nodeport")
    assert result.returncode == 0, result.stderr
    assert (out / "Dockerfile").is_file()
    assert (out / "06-deployment-tasks-web.yaml").is_file()
    assert "Deployment" in result.stdout
    assert "kubectl apply -f" in result.stdout


def test_render_json(tmp_path: Path) -> None:
    result = shipway(
        "render",
        EXAMPLES / "notes-heroku",
        "--out",
        tmp_path / "o",
        "--json",
        "--image",
        "reg.example/notes:v2",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["app"] == "notes" and data["namespace"] == "notes"
    assert data["image"] == "reg.example/notes:v2"
    kinds = [o["kind"] for o in data["objects"]]
    assert kinds.count("Deployment") == 2 and "Job" in kinds
    assert all(Path(o["file"]).is_file() for o in data["objects"])


def test_secrets_stay_out_of_the_output(tmp_path: Path, state_dir: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "shipway.yaml": "name: s\nenv: {API_TOKEN: hunter2-value}\nservices: [postgresql]\n",
            "app.py": "",
        },
    )
    for args in (
        ["render", app, "--out", tmp_path / "o"],
        ["render", app, "--out", tmp_path / "o", "--json"],
        ["inspect", app],
        ["inspect", app, "--json"],
    ):
        result = shipway(*args)
        assert result.returncode == 0, result.stderr
        text = result.stdout + result.stderr
        assert "hunter2-value" not in text
        password = json.loads(next(state_dir.rglob("s.json")).read_text())["postgresql-password"]
        assert password not in text


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        (None, [], "nope: the app directory does not exist; give the path"),
        (
            {"shipway.yaml": "name: a\nservices: {mysql: 8}\n"},
            [],
            "error: shipway.yaml:2: services.mysql: unknown addon 'mysql'; use one of mongodb",
        ),
        ({"shipway.yaml": "name: [\n"}, [], "error: shipway.yaml:2: invalid YAML"),
        (
            {"Procfile": "worker: python w.py\n"},
            ["--expose", "ingress"],
            "needs a web process but the app has only worker",
        ),
        ({"app.py": ""}, ["--namespace", "Not_Valid"], "error: --namespace: invalid value"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, files: dict[str, str] | None, args: list[str], message: str
) -> None:
    app = make_app(tmp_path, files) if files is not None else tmp_path / "nope"
    result = shipway("render", app, "--out", tmp_path / "o", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_inspect_json() -> None:
    result = shipway("inspect", EXAMPLES / "tasks-cupaas", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plan"]["python_version"] == "3.8.6"
    assert data["plan"]["processes"]["web"]["command"] == ["python", "app.py"]
    assert data["spec"]["services"] == {
        "mongodb": {"version": "6.0.2", "storage": "1Gi", "as": None}
    }


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: nothing-listens
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: someone
  user: {token: not-a-real-token}
contexts:
- name: gone
  context: {cluster: nothing-listens, user: someone}
current-context: gone
"""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["apps"], 1, "error: cannot reach the cluster to list namespaces (connection refused)"),
        (["ps", "tasks"], 1, "error: cannot reach the cluster to list the pods of tasks"),
        (["apps", "--context", "nope"], 2, "no context 'nope'; use one of gone"),
        (["deploy", str(EXAMPLES / "tasks")], 1, "cannot reach the cluster"),
    ],
)
def test_cluster_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    """No cluster answers at the kubeconfig's address (a closed port on 127.0.0.1)."""
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(config))
    result = shipway(*args)
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "not-a-real-token" not in result.stderr


def test_app_text_prints_literally_without_control_characters(tmp_path: Path) -> None:
    """Issue 10, class 4: brackets in a Procfile are not markup (a `[/x]` once crashed the
    CLI) and an app's escape sequences never reach the terminal."""
    app = make_app(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": "",
            "Procfile": 'web: gunicorn app:app --name "[/x] [bold]b \x1b[31mred"\nworker: [oops\n',
        },
    )
    result = shipway("inspect", app)
    assert result.returncode == 0, result.stderr
    assert '--name "[/x] [bold]b' in result.stdout and "[oops" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr


def test_errors_keep_brackets_and_stay_one_line(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"shipway.yaml": "name: '[red]x[/red]'\n", "app.py": ""})
    result = shipway("inspect", app)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'" in lines[0]  # brackets once vanished as markup
