"""The README's benchmark table is the one bench/report.py makes from bench/results: a
bench run that changes the results without the README (or the reverse) fails here."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report


def test_the_readme_shows_the_latest_results() -> None:
    text = report.README.read_text()
    assert report.readme_block(text) == report.block(), (
        "README's benchmark table is stale: run .venv/bin/python bench/report.py --write"
    )


def test_rows_say_which_targets_are_met(tmp_path: Path) -> None:
    measures = [
        {
            "measure": "shipway ps demo",
            "seconds_median": 0.61,
            "anchor": "kubectl get pods -n demo",
            "anchor_seconds_median": 0.1,
            "ratio": 6.1,
            "target_seconds": 0.5,
        },
        {
            "measure": "shipway version",
            "seconds_median": 0.05,
            "anchor": "kubectl version --client",
            "anchor_seconds_median": 0.1,
            "ratio": 0.5,
            "target_seconds": 0.2,
        },
    ]
    (tmp_path / "cli.json").write_text(json.dumps({"measures": measures}))
    (tmp_path / "deploy.json").write_text(
        json.dumps({"no_change_seconds_median": {"shipway_cli": 0.55}})
    )
    lines = report.table(tmp_path).splitlines()
    assert lines[2:] == [
        "| `shipway ps demo` | 0.61 s | `kubectl get pods -n demo` 0.10 s | 6.1x "
        "| ≤ 0.5 s: **not met** |",
        "| `shipway version` | 0.05 s | `kubectl version --client` 0.10 s | 0.5x | ≤ 0.2 s: met |",
        "| deploy with nothing changed | 0.55 s |  |  | ≤ 0.6 s: met |",
    ]
