"""Issue 12: ``shipway login`` writes one host's entry of ~/.netrc and leaves the rest of
the file as it was (checked with Python's own netrc parser, as curl and git read it)."""

from __future__ import annotations

import netrc
import stat
from pathlib import Path

import pytest

from shipway.cli import netrc_file

OTHERS = """\
# my machines
machine github.com login me password ghp_secret
machine shipway.example.com login old@example.com password shp_old
  account ops

macdef init
machine shipway.example.com login not-an-entry password inside-a-macro

machine other.example.org
  login you
  password machine
default login anonymous password guest
"""


def parsed(text: str, tmp_path: Path) -> netrc.netrc:
    path = tmp_path / "parsed"
    path.write_text(text)
    path.chmod(0o600)
    return netrc.netrc(str(path))


def test_the_hosts_entry_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    text = netrc_file.with_entry(OTHERS, "shipway.example.com", "me@example.com", "shp_new")
    hosts = parsed(text, tmp_path).hosts
    assert hosts["shipway.example.com"] == ("me@example.com", "", "shp_new")
    assert hosts["github.com"] == ("me", "", "ghp_secret")
    assert hosts["other.example.org"] == ("you", "", "machine")
    assert parsed(text, tmp_path).macros["init"][0].startswith("machine shipway.example.com")
    assert "shp_old" not in text and "# my machines" in text
    assert text.index("shp_new") < text.index("default")  # default stays last
    assert text.count("machine shipway.example.com login me@example.com") == 1


def test_removing_takes_out_only_the_entry_with_our_token(tmp_path: Path) -> None:
    ours = netrc_file.with_entry(OTHERS, "shipway.example.com", "me@example.com", "shp_new")
    assert netrc_file.without(ours, "shipway.example.com", "shp_other") == ours
    back = netrc_file.without(ours, "shipway.example.com", "shp_new")
    hosts = parsed(back, tmp_path).hosts
    assert "shipway.example.com" not in hosts
    assert set(hosts) == {"github.com", "other.example.org", "default"}
    assert "inside-a-macro" in back


@pytest.mark.parametrize("start", ["", "machine a login b password c", "default password x\n"])
def test_an_entry_is_added_to_any_file(start: str, tmp_path: Path) -> None:
    text = netrc_file.with_entry(start, "h.example", "e@example.com", "shp_t")
    assert parsed(text, tmp_path).authenticators("h.example") == ("e@example.com", "", "shp_t")


def test_the_file_is_written_0600_through_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "dotfiles" / "netrc"
    real.parent.mkdir()
    real.write_text("machine github.com login me password ghp_secret\n")
    real.chmod(0o644)
    link = tmp_path / ".netrc"
    link.symlink_to(real)
    monkeypatch.setenv("NETRC", str(link))
    assert netrc_file.save_entry("h.example", "e@example.com", "shp_t") == link
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert "ghp_secret" in real.read_text() and "shp_t" in real.read_text()
    assert netrc_file.remove_entry("h.example", "shp_t")
    assert real.read_text() == "machine github.com login me password ghp_secret\n"
    assert not netrc_file.remove_entry("h.example", "shp_t")
    assert sorted(p.name for p in real.parent.iterdir()) == ["netrc"]  # no temporary left
