"""Issue 11: the command line starts fast because each verb imports only what it uses.

Start-up is most of the time of a verb people type many times a day, and it is made of
imports: these tests run the CLI as a user does, with ``python -X importtime``, and read
which modules it imported (the timings themselves are in bench/, not asserted here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shipway
from shipway.cli import main
from shipway.cli.app_name import DESCRIPTION_FILES
from shipway.spec.loader import LOADERS

#: The tree under test (the worktree's copy, not an installed one).
SOURCE = str(Path(shipway.__file__).resolve().parent.parent)

#: The cluster client, both HTTP stacks, the image builder and the deploy machinery.
HEAVY = [
    "lightkube",
    "httpx",
    "httpx2",
    "requests",
    "shipway.kube",
    "shipway.image",
    "shipway.deploy",
]
#: Shipway's own models, and the core modules that load them.
MODELS = ["shipway.spec", "shipway.detect", "shipway.project", "shipway.addons"]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shipway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": path, **env},
    )


def modules_of(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules imported, from ``-X importtime``'s lines: ``import time: … | … | name``."""
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "shipway.cli.main" in modules  # the output was read: this copy was run
    return modules


def imported(*args: str) -> tuple[set[str], str]:
    """The modules ``shipway ARGS`` imports, and what it printed."""
    result = run(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    return modules_of(result), result.stdout


def loaded(modules: set[str], packages: list[str]) -> list[str]:
    """The modules that are one of ``packages`` or inside one."""
    return sorted(m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages))


def test_the_tree_under_test_is_imported() -> None:
    modules, _ = imported("version")
    assert Path(SOURCE, "shipway", "cli", "main.py").is_file()
    assert "shipway" in modules


def test_version_imports_neither_typer_nor_rich_nor_pydantic() -> None:
    modules, out = imported("version")
    assert out == f"{shipway.__version__}\n"
    assert loaded(modules, ["typer", "click", "rich", "pydantic", *HEAVY, *MODELS]) == []


def test_help_lists_every_verb_without_importing_the_core() -> None:
    modules, out = imported("--help")
    for verb in ["render", "deploy", "ps", "logs", "config:set", "build", "addons:create"]:
        assert f" {verb} " in out, verb
    assert loaded(modules, ["pydantic", *HEAVY, *MODELS]) == []


@pytest.mark.parametrize("verb", ["ps", "releases", "config", "deploy", "build", "create"])
def test_a_verbs_help_imports_none_of_the_core(verb: str) -> None:
    modules, out = imported(verb, "--help")
    assert "Usage:" in out and f" {verb} " in out
    # Typer 0.29 made every parameter a pydantic TypeAdapter (+0.2 s a command): pyproject
    # keeps Typer below it, and this keeps pydantic out of a command that needs none.
    assert loaded(modules, ["pydantic", *HEAVY, *MODELS]) == []


@pytest.mark.parametrize(
    ("verb", "reaches"),
    [
        (["ps", "demo"], "shipway.kube.pods"),
        (["config", "demo"], "shipway.appstate"),
        (["releases", "demo"], "shipway.listing"),
        (["apps"], "shipway.listing"),
    ],
)
def test_a_read_verb_imports_only_the_cluster_client(
    tmp_path: Path, verb: list[str], reaches: str
) -> None:
    """The verb runs up to connecting (which fails here: the kubeconfig has no cluster),
    having imported the cluster client but not the deploy machinery, the image builder,
    nor pydantic and Shipway's models."""
    (tmp_path / "config").write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    result = run(*verb, KUBECONFIG=str(tmp_path / "config"))
    assert result.returncode != 0 and "error:" in result.stderr
    modules = modules_of(result)
    assert reaches in modules
    assert (
        loaded(modules, ["shipway.image", "shipway.deploy", "requests", "pydantic", *MODELS]) == []
    )


def test_every_verb_is_mapped_to_the_module_that_registers_it() -> None:
    """A verb missing from ``COMMAND_MODULES`` would still run (every module is imported
    then), only slowly; one mapped to the wrong module would not run at all."""
    registered = {
        command.name: command.callback.__module__.rpartition(".")[2]
        for command in main.app.registered_commands
        if command.name and command.callback
    }
    for group in main.app.registered_groups:  # ``platform show|set``: a group of verbs
        callbacks = [c.callback for c in group.typer_instance.registered_commands]
        registered[group.name] = next(c for c in callbacks if c).__module__.rpartition(".")[2]
    assert registered == main.COMMAND_MODULES


def test_the_top_level_help_lists_each_verbs_own_summary() -> None:
    """``shipway --help`` is printed without Typer: each line it lists is the first line
    of the verb's docstring, which ``shipway VERB --help`` shows."""
    docs = {c.name: c.callback.__doc__ for c in main.app.registered_commands if c.callback}
    for group in main.app.registered_groups:
        docs[group.name] = group.typer_instance.info.help or group.help
    summaries = {verb: summary for verb, (_, summary) in main.VERBS.items()}
    assert summaries == {verb: (doc or "").strip().splitlines()[0] for verb, doc in docs.items()}
    _, out = imported("--help")
    assert [line.split()[0] for line in out.split("Commands:\n")[1].splitlines() if line] == [
        *main.VERBS,
        "Run",
    ]


def test_a_remote_deploy_learns_the_app_name_once_per_version_of_its_files(
    tmp_path: Path,
) -> None:
    """In remote mode the CLI needs only the app's name: loading the spec (pydantic, the
    models) happens the first time and again only when a description file changes. The
    server here refuses connections, so each run ends at the upload, name in hand."""
    app = tmp_path / "app"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "tasks", app)
    env = {
        "SHIPWAY_URL": "http://127.0.0.1:9",
        "SHIPWAY_TOKEN": "shp_" + "x" * 40,
        "SHIPWAY_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }

    def models_loaded() -> list[str]:
        result = run("deploy", str(app), "--json", **env)
        assert result.returncode != 0 and "127.0.0.1:9" in result.stderr, result.stderr
        return loaded(modules_of(result), ["pydantic", "shipway.project", "shipway.spec.model"])

    assert "shipway.project" in models_loaded()  # first time: the spec is loaded
    assert models_loaded() == []  # same files: the name kept
    spec = app / "shipway.yaml"
    spec.write_text(spec.read_text().replace("name: tasks", "name: tasks-renamed"))
    assert "shipway.project" in models_loaded()


def test_the_remote_name_cache_knows_every_description_file() -> None:
    assert sorted(DESCRIPTION_FILES) == sorted(name for names, _ in LOADERS for name in names)
