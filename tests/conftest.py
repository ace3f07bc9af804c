from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test keeps generated credentials in a private, empty state directory."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("SHIPWAY_STATE_DIR", str(path))
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/unit are unit tests unless they say otherwise."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in {"unit", "integration", "e2e"} and not any(
            item.get_closest_marker(m) for m in ("unit", "integration", "e2e")
        ):
            item.add_marker(getattr(pytest.mark, tier))
