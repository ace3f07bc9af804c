"""`shipway inspect` on every fixture app of tests/apps: it must understand each app the way
the app's own files say it runs — its Python, its web command, its port, its addons.

The expectations live in each app's EXPECT.json (see tests/apps/corpus.py) and are written
from what the app really does, never from what Shipway happens to detect today.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from shipway.cli.main import main
from tests.apps import corpus

CORPUS = corpus.names()
#: Files that are Shipway's own: a fixture app must be deployable without any of them.
SHIPWAY_FILES = {"shipway.yaml", "shipway.yml", ".cupaas.yml"}


def inspect_json(
    app_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, Any] | None, str]:
    """`shipway inspect APP_DIR --json` in this process: exit code, JSON, stderr."""
    monkeypatch.setattr(sys, "argv", ["shipway", "inspect", str(app_dir), "--json"])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


def test_the_corpus_has_at_least_twelve_apps() -> None:
    assert len(CORPUS) >= 12, CORPUS


@pytest.mark.parametrize("name", CORPUS)
def test_expectations_are_well_formed(name: str) -> None:
    app = corpus.load(name)
    assert app.about and app.requests
    assert app.app_dir.is_dir(), f"{name}: subdir {app.subdir} does not exist"
    assert all(r.json is not None or r.body_contains for r in app.requests), (
        f"{name}: every request must check its answer's body"
    )
    assert set(app.addons) <= {"postgresql", "redis", "mongodb"}
    assert all(entry.split()[0] in {"addons:create", "config:set"} for entry in app.lifecycle)


@pytest.mark.parametrize("name", CORPUS)
def test_apps_are_unedited(name: str) -> None:
    """The corpus tests conventions of other platforms: no app may carry a Shipway file."""
    app = corpus.load(name)
    found = sorted(
        str(p.relative_to(app.root)) for p in app.root.rglob("*") if p.name in SHIPWAY_FILES
    )
    assert not found


@pytest.mark.parametrize("name", CORPUS)
def test_inspect_understands_the_app(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = corpus.load(name)
    code, data, stderr = inspect_json(app.app_dir, capsys, monkeypatch)
    assert code == 0, f"{name}: inspect failed: {stderr.strip()}"
    assert data is not None
    problems = _mismatches(app.inspect, data["plan"], data["spec"])
    assert not problems, f"{name}: " + "; ".join(problems)


def _mismatches(expected: dict[str, Any], plan: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """Each expectation of EXPECT.json's "inspect" that the plan or spec does not meet."""
    web = plan["processes"].get("web", {}).get("command")
    web_text = " ".join(web) if isinstance(web, list) else str(web)
    found = {
        "python": ".".join(str(plan["python_version"]).split(".")[:2]),
        "python_source": plan["python_version_source"],
        "port": plan["port"],
        "addons": sorted(spec["services"]),
        "release_contains": plan.get("release") or "",
    }
    problems = [
        f"{key}: {found[key]!r}, expected {value!r}"
        for key, value in expected.items()
        if key in found and key != "release_contains" and found[key] != value
    ]
    if (
        "release_contains" in expected
        and expected["release_contains"] not in found["release_contains"]
    ):
        problems.append(
            f"release: {found['release_contains']!r} lacks {expected['release_contains']!r}"
        )
    problems += [
        f"web command {web_text!r} lacks {part!r}"
        for part in expected.get("web_contains", [])
        if part not in web_text
    ]
    return problems
