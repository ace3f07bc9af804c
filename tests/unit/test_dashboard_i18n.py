"""The dashboard's Spanish catalogue covers every string the pages translate, and the
language of an answer follows the page's choice, then the browser's."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from shipway.dashboard import i18n

pytestmark = pytest.mark.unit

DASHBOARD = Path(i18n.__file__).parent
#: ``_("…")`` (or with single quotes) in a template, ``words(request)("…")`` in a view.
CALL = re.compile(
    r"""(?:\b_|\bwords\(request\))\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*[,)]"""
)


def translated_strings() -> set[str]:
    found: set[str] = set()
    for path in [*DASHBOARD.rglob("*.html"), *DASHBOARD.rglob("*.py")]:
        for double, single in CALL.findall(path.read_text()):
            found.add(double or single)
    return found


def spanish() -> dict[str, str]:
    catalogue: dict[str, str] = {}
    for po in (DASHBOARD / "locale" / "es" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as source:
            for message in read_po(source):
                if message.id and isinstance(message.id, str):
                    catalogue[message.id] = str(message.string)
    return catalogue


def test_every_string_the_pages_translate_has_a_spanish_translation() -> None:
    wanted = translated_strings()
    assert len(wanted) > 30  # the extraction finds the pages' strings at all
    catalogue = spanish()
    missing = sorted(s for s in wanted if not catalogue.get(s))
    assert missing == [], missing


def test_the_catalogue_translates_at_run_time() -> None:
    words = i18n.translations("es")
    assert words.gettext("Sign in") == "Iniciar sesión"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, "es-ES,es;q=0.9,en;q=0.8", "es"),
        (None, "fr-FR,fr;q=0.9,es;q=0.5", "es"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "de", "en"),
        (None, None, "en"),
        ("en", "es", "en"),
        ("es", "en", "es"),
        ("xx", "es", "es"),
        (None, "es;q=abc, en", "en"),
        (None, "x" * 10_000 + ",es", "en"),  # past the bound, unread
    ],
)
def test_language_follows_the_choice_then_the_browser(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_dates_are_written_as_each_language_writes_them() -> None:
    moment = datetime(2026, 3, 5, 14, 7, 9)
    assert i18n.when(moment, "en") == "Mar 5, 2026, 2:07:09\u202fPM"
    assert i18n.when("2026-03-05T14:07:09.000Z", "es") == "5 mar 2026, 14:07:09"
    assert i18n.when("not a date", "es") == "not a date"
    assert i18n.when(None, "en") == ""


def test_compiling_writes_a_catalogue_gettext_reads(tmp_path: Path) -> None:
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    source = DASHBOARD / "locale" / "es" / "LC_MESSAGES" / "dashboard.po"
    (folder / "dashboard.po").write_bytes(source.read_bytes())
    [written] = i18n.compile_all(tmp_path)
    assert written == folder / "dashboard.mo"
    assert written.read_bytes()[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")
