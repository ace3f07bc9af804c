"""The dashboard's languages: English (the source strings) and Spanish (Babel catalogues in
``locale/es/LC_MESSAGES``). The ``.po`` files are the source; their compiled ``.mo`` are
made at install (``python -m shipway.dashboard.i18n``, run by the set-up script and the
server image's build) and never committed. Every ``.po`` of a language is one catalogue:
each group of pages keeps its strings in a file of its own."""

from __future__ import annotations

import functools
import gettext
import io
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger("shipway.dashboard")

LANGUAGES = ("en", "es")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The cookie that keeps a language chosen on the page (over the browser's).
COOKIE = "shipway_lang"
#: An Accept-Language header longer than this is not read (it is untrusted input).
MAX_HEADER = 500


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language``: its ``.mo`` files, or, when the install did not
    compile them, its ``.po`` files compiled in memory (and a warning in the log)."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    merged: gettext.NullTranslations = gettext.NullTranslations()
    for po in sorted(folder.glob("*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            data = mo.read_bytes()
        else:
            log.warning("%s is not compiled (or older than its .po): compiling it now", po.name)
            data = _compiled(po)
        part = Translations(io.BytesIO(data))
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged


def _compiled(po: Path) -> bytes:
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def compile_all(root: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``.po`` under ``root`` beside it; the ``.mo`` files written."""
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(_compiled(po))
        written.append(mo)
    return written


def negotiate(cookie: str | None, accept: str | None) -> str:
    """The language to answer in: the one chosen on the page, else the browser's first
    that the dashboard speaks, else English."""
    if cookie in LANGUAGES:
        return cookie
    wanted = []
    for part in (accept or "")[:MAX_HEADER].split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        wanted.append((weight, tag.strip().replace("_", "-")))
    wanted.sort(key=lambda pair: -pair[0])
    for _, tag in wanted:
        base = tag.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT


def when(moment: datetime | str | None, language: str) -> str:
    """A time (or its ISO form) as the language writes it (the server's times are UTC)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            return when(datetime.fromisoformat(moment.removesuffix("Z")), language)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return format_datetime(moment, "medium", tzinfo=UTC, locale=Locale.parse(language))
    except (UnknownLocaleError, ValueError):
        return moment.isoformat(timespec="seconds")


if __name__ == "__main__":  # the install step: compile the catalogues
    done = compile_all()
    print(f"dashboard: compiled {len(done)} message catalogue(s)", file=sys.stderr)
