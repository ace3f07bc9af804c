"""Issue 12: the account verbs keep the CLI's start-up light: without a login they answer
with one line, having imported neither the HTTP client nor the server's stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_cli_imports import HEAVY, MODELS, loaded, modules_of, run

SERVER_STACK = ["fastapi", "starlette", "sqlalchemy", "alembic", "argon2", "psycopg", "uvicorn"]


@pytest.mark.parametrize("verb", [["whoami"], ["teams"], ["tokens"], ["audit", "main"]])
def test_an_account_verb_without_a_login_is_one_line_and_light(
    tmp_path: Path, verb: list[str]
) -> None:
    result = run(*verb, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "error: not logged in: shipway login URL"
    modules = modules_of(result)
    assert "shipway.cli.remote" in modules  # the verb ran as far as reading the login
    assert loaded(modules, ["pydantic", "shipway.server", *SERVER_STACK, *HEAVY, *MODELS]) == []


@pytest.mark.parametrize("verb", ["login", "members:add", "tokens:create"])
def test_an_account_verbs_help_imports_none_of_the_core(verb: str) -> None:
    result = run(verb, "--help")
    assert result.returncode == 0 and f" {verb} " in result.stdout
    assert loaded(modules_of(result), ["pydantic", *SERVER_STACK, *HEAVY, *MODELS]) == []
