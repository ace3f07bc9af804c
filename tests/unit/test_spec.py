"""Loading app descriptions: shipway.yaml, Procfile, app.json and .cupaas.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.errors import ShipwayError, SpecError
from shipway.spec import load_spec
from shipway.spec.model import AppSpec, Process, Service
from tests.conftest import EXAMPLES
from tests.helpers.appdir import make_app


def load(tmp_path: Path, files: dict[str, str], name: str = "app") -> AppSpec:
    return load_spec(make_app(tmp_path, files, name))


def error(tmp_path: Path, files: dict[str, str], name: str = "app") -> str:
    with pytest.raises(SpecError) as caught:
        load(tmp_path, files, name)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_shipway_yaml_full(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        {
            "shipway.yaml": """
name: shop
runtime: python-3.11
port: 8080
processes:
  web: gunicorn app:app
  worker: {command: [python, worker.py], replicas: 2, resources: {cpu: 200m, memory: 128Mi}}
replicas: 3
env:
  DEBUG: true
  WORKERS: 4
services:
  postgresql: 16
  redis: {version: "7.2", storage: 2Gi}
healthcheck: /healthz
domains: shop.example.com
"""
        },
    )
    assert spec.name == "shop"
    assert spec.runtime.version == "3.11"
    assert spec.port == 8080
    assert spec.processes["web"] == Process(command="gunicorn app:app", replicas=3)
    assert spec.processes["worker"].command == ["python", "worker.py"]
    assert spec.processes["worker"].replicas == 2
    assert spec.processes["worker"].resources is not None
    assert spec.processes["worker"].resources.memory == "128Mi"
    assert spec.env == {"DEBUG": "true", "WORKERS": "4"}
    assert spec.services == {
        "postgresql": Service(version="16"),
        "redis": Service(version="7.2", storage="2Gi"),
    }
    assert spec.healthcheck == "/healthz"
    assert spec.domains == ["shop.example.com"]


def test_services_as_list_like_the_seed(tmp_path: Path) -> None:
    spec = load(tmp_path, {"shipway.yaml": "name: a\nservices: [mongodb, {redis: 7}]\n"})
    assert spec.services == {"mongodb": Service(), "redis": Service(version="7")}


def test_the_tasks_example() -> None:
    spec = load_spec(EXAMPLES / "tasks")
    assert spec.name == "tasks"
    assert spec.services == {"mongodb": Service(version="6.0")}


def test_cupaas_as_the_seed_writes_it(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        {
            ".cupaas.yml": (
                "runtime: python:3.8.6\nentrypoint: [python, app.py]\nservices: [{mongodb: 6.0.2}]\n"
            )
        },
        name="python-app",
    )
    assert spec.name == "python-app"
    assert spec.runtime.version == "3.8.6"
    assert spec.processes["web"].command == ["python", "app.py"]
    assert spec.services == {"mongodb": Service(version="6.0.2")}


def test_procfile_processes_and_release(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        {
            "Procfile": (
                "# processes\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n\n"
                "worker:python worker.py\nrelease: python manage.py migrate\n"
            )
        },
    )
    assert spec.processes["web"].command == "gunicorn app:app --bind 0.0.0.0:$PORT"
    assert spec.processes["worker"].command == "python worker.py"
    assert spec.release == "python manage.py migrate"
    assert "release" not in spec.processes


def test_app_json_env_addons_formation(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        {
            "Procfile": "web: gunicorn app:app\nworker: python w.py\n",
            "app.json": """{
  "name": "My Shop!",
  "env": {"A": "1", "B": {"value": "two"}, "KEY": {"generator": "secret"},
          "ASKED": {"description": "set at deploy", "required": true}},
  "addons": ["heroku-postgresql:essential-0", {"plan": "heroku-redis:mini", "as": "CACHE"},
             "mongolab:sandbox"],
  "formation": {"web": {"quantity": 2, "size": "standard-2x"}, "worker": {"quantity": 0}}
}""",
        },
    )
    assert spec.name == "my-shop"
    assert spec.env == {"A": "1", "B": "two"}
    assert spec.generated_env == ["KEY"]
    assert set(spec.services) == {"postgresql", "redis", "mongodb"}
    assert spec.services["redis"].env_var == "CACHE_URL"
    assert spec.processes["web"].replicas == 2
    assert spec.processes["web"].resources is not None
    assert spec.processes["web"].resources.memory == "1Gi"
    assert spec.processes["worker"].replicas == 0


def test_name_from_directory(tmp_path: Path) -> None:
    spec = load(tmp_path, {"requirements.txt": "flask\n"}, name="My_Cool.App")
    assert spec.name == "my-cool-app"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"shipway.yaml": "name: a\nservices: {mysql: 8}\n"},
            "shipway.yaml:2: services.mysql: unknown addon 'mysql'; use one of mongodb, postgresql, redis",
        ),
        ({"shipway.yaml": "name: Bad_Name\n"}, "shipway.yaml:1: name: "),
        (
            {"shipway.yaml": "name: a\nports: 80\n"},
            "shipway.yaml:2: ports: Extra inputs are not permitted; remove it or check its spelling",
        ),
        ({"shipway.yaml": "name: a\nenv: {1BAD: x}\n"}, "shipway.yaml:2: env.1BAD"),
        ({"shipway.yaml": "name: a\nport: 70000\n"}, "shipway.yaml:2: port:"),
        (
            {"shipway.yaml": "name: a\nruntime: node-20\n"},
            "shipway.yaml:2: runtime: runtime 'node-20' is not supported; Shipway builds Python apps",
        ),
        (
            {"shipway.yaml": "name: a\nruntime: python-2.7\n"},
            "shipway.yaml:2: runtime.version: Python 2.7 is not supported",
        ),
        ({"shipway.yaml": "name: a\nprocesses:\n  web: [\n"}, "shipway.yaml:4: invalid YAML"),
        (
            {"shipway.yaml": "name: a\nname: b\n"},
            "shipway.yaml:2: invalid YAML (the key 'name' is given twice)",
        ),
        ({"shipway.yaml": "- a\n- b\n"}, "shipway.yaml: the file must be a mapping"),
        (
            {"shipway.yaml": "name: a\nprocesses: {redis: redis-server}\n"},
            "processes: process type 'redis' has the name of an addon; rename it",
        ),
        (
            {"Procfile": "web gunicorn app:app\n"},
            "Procfile:1: 'web gunicorn app:app' is not a 'type: command' line",
        ),
        ({"Procfile": "web: a\nweb: b\n"}, "Procfile:2: web: is declared twice"),
        ({"Procfile": "Web: a\n"}, "Procfile:1: Web: process types are lower-case here"),
        ({"Procfile": "web:\n"}, "Procfile:1: web: has no command"),
        (
            {"app.json": '{"addons": ["papertrail"]}'},
            "app.json:1: addons[0]: unknown addon 'papertrail'",
        ),
        ({"app.json": '{"env": {\n"A": 1,\n}}'}, "app.json:3: invalid JSON"),
        ({"app.json": '{"formation": {"web": {"size": "huge"}}}'}, "unknown dyno size 'huge'"),
        (
            {".cupaas.yml": "runtime: ruby:3\n"},
            ".cupaas.yml:1: runtime: runtime 'ruby:3' is not supported",
        ),
        ({".cupaas.yml": "entrypoint: {a: b}\n"}, ".cupaas.yml:1: entrypoint: must be a command"),
        (
            {
                "shipway.yaml": "name: a\nprocesses: {web: python a.py}\n",
                "Procfile": "web: python b.py\n",
            },
            "Procfile:1: processes.web.command: says 'python b.py' but shipway.yaml:2 says 'python a.py'",
        ),
        (
            {"shipway.yaml": "name: a\n", "shipway.yml": "name: b\n"},
            "both shipway.yaml and shipway.yml",
        ),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert expected in error(tmp_path, files)


def test_missing_app_dir(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="the app directory does not exist; give the path"):
        load_spec(tmp_path / "nope")


def test_not_utf8(tmp_path: Path) -> None:
    app = make_app(tmp_path, {})
    (app / "shipway.yaml").write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(
        ShipwayError, match=r"^shipway\.yaml: cannot be read as UTF-8 text; save it as UTF-8$"
    ):
        load_spec(app)


def test_empty_files_are_fine(tmp_path: Path) -> None:
    spec = load(tmp_path, {"shipway.yaml": "", "Procfile": "\n# nothing\n"}, name="empty")
    assert spec.name == "empty"
    assert spec.processes == {}
