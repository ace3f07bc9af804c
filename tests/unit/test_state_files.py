"""Issue 10, class 10: the credentials state is written atomically, mode 0600, whatever
was planted beside it, and its directories are private."""

from __future__ import annotations

import stat
from pathlib import Path

from shipway.credentials import CredentialStore


def test_a_planted_symlink_at_the_old_temporary_path_is_not_followed(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "state")
    target = store.path("notes", "notes")
    target.parent.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target.with_suffix(".tmp").symlink_to(victim)  # where older versions wrote first
    values = store.ensure("notes", "notes", ["postgresql-password"])
    assert victim.read_text() == "precious\n"
    assert not target.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert store.ensure("notes", "notes", ["postgresql-password"]) == values


def test_state_directories_are_tightened_to_0700(tmp_path: Path) -> None:
    root = tmp_path / "state"
    (root / "apps" / "notes").mkdir(parents=True, mode=0o755)
    root.chmod(0o755)
    CredentialStore(root).ensure("notes", "notes", ["x"])
    for directory in (root, root / "apps", root / "apps" / "notes"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    leftovers = [p.name for p in (root / "apps" / "notes").iterdir()]
    assert leftovers == ["notes.json"]  # no temporary file left behind
