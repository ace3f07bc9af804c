"""The browser helper against a real Chromium and a tiny local page.

The page changes its heading from a script after 300 ms, so a passing wait_for_text shows
the helper polls a live page instead of reading it once; the server writes the request's
Accept-Language into the page, so the language check sees the header itself.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.browser import Browser, require_browser

pytestmark = pytest.mark.integration

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>browser helper</title></head>
<body>
<h1 id="heading">Loading</h1>
<p>Accept-Language: <span id="lang">{accept_language}</span></p>
<script>
setTimeout(function () {{
  document.getElementById("heading").textContent = "Ready after the timer";
}}, 300);
</script>
</body></html>
"""


class PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        accept_language = html.escape(self.headers.get("Accept-Language", ""))
        body = PAGE.format(accept_language=accept_language).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: pytest shows stderr of failing tests, where request lines are noise.
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_browser()
    with Browser() as started:
        yield started


def test_wait_for_text_sees_the_script_change_the_page(browser: Browser, page_url: str) -> None:
    browser.open(page_url)
    browser.wait_for_text("Ready after the timer", timeout=10)
    assert browser.wait_for("#heading").text == "Ready after the timer"


def test_wait_for_text_fails_with_the_page_text(browser: Browser, page_url: str) -> None:
    browser.open(page_url)
    with pytest.raises(AssertionError, match="Accept-Language"):
        browser.wait_for_text("never on this page", timeout=0.5)


def test_default_language_is_english(browser: Browser, page_url: str) -> None:
    browser.open(page_url)
    assert browser.wait_for("#lang").text.startswith("en")


def test_language_sets_the_accept_language_header(page_url: str) -> None:
    with Browser(language="es") as spanish:
        spanish.open(page_url)
        header = spanish.wait_for("#lang").text
    assert header.startswith("es"), header


def test_screenshot_writes_a_png(
    browser: Browser, page_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SCREENSHOTS", str(tmp_path))
    monkeypatch.delenv("SHIPWAY_UPDATE_DOCS_SCREENSHOTS", raising=False)
    browser.open(page_url)
    browser.wait_for_text("Ready after the timer", timeout=10)
    path = browser.screenshot("browser-helper")
    assert path == tmp_path / "browser-helper.png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # A blank or failed capture is a few hundred bytes; a rendered page is kilobytes.
    assert len(data) > 2000, len(data)


def test_phone_narrows_the_viewport_and_restores_it(browser: Browser, page_url: str) -> None:
    browser.open(page_url)
    with browser.phone():
        width = browser.driver.execute_script("return window.innerWidth")
        assert isinstance(width, int)
        assert width <= 400
    assert browser.driver.execute_script("return window.innerWidth") > 1000
