"""Issue 10, class 8: inputs that once ended in an internal error (exit 70) are one-line
errors with exit 2, and a wrong type in app.json is an error, not a silent default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.appdir import make_app

TOKEN = "sekrit-token-0123456789"


def shipway(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


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
