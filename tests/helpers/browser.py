"""A real, headless Chromium driven by Selenium, for the web dashboard's browser tests.

Debian's ``chromium`` and ``chromium-driver`` only (hack/test.sh installs them): nothing is
downloaded, so the driver always matches the browser and a test run works offline.
Screenshots go to ``out/screenshots/`` (``SHIPWAY_SCREENSHOTS`` overrides it); with
``SHIPWAY_UPDATE_DOCS_SCREENSHOTS=1`` they are also copied to ``docs/screenshots/`` so a
developer can refresh the README's set from a test run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parent.parent.parent
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"

# Window sizes, not viewports: headless Chromium keeps room for a pretend toolbar, so the
# page gets the full width but 143 px less height (1280x757, 390x701 with Chromium 156).
DESKTOP = (1280, 900)
# An iPhone 12-15 sized window: narrow enough to hit the dashboard's phone layout.
PHONE = (390, 844)
PAGE_LOAD_TIMEOUT = 30.0
# How much page text a failed wait shows: enough to see which page it was on.
EXCERPT = 2000


def require_browser() -> None:
    """Fails (in CI) or skips (elsewhere) when Debian's chromium or chromedriver is missing.

    CI must not pass by skipping the browser tests, but a developer without the packages
    should still be able to run the rest of the suite.
    """
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    message = (
        f"browser tests need {' and '.join(missing)}: install Debian's chromium and "
        "chromium-driver (hack/test.sh does, as root)"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def screenshots_dir() -> Path:
    override = os.environ.get("SHIPWAY_SCREENSHOTS")
    return Path(override) if override else ROOT / "out" / "screenshots"


def _options(language: str) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.add_argument("--headless=new")
    # Root (CI, containers) cannot use Chromium's sandbox; the pages under test are ours.
    options.add_argument("--no-sandbox")
    # Containers often have a small /dev/shm, on which renderers crash; /tmp is enough.
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--disable-gpu")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    # --lang alone sets navigator.language but leaves Accept-Language at en-US (checked with
    # Chromium 156): the header comes from the profile's preference, and the server-rendered
    # pages follow the header.
    options.add_argument(f"--lang={language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    return options


class Browser:
    """One headless Chromium window; ``with Browser() as browser:`` quits it afterwards."""

    def __init__(self, language: str = "en") -> None:
        require_browser()
        self.driver = webdriver.Chrome(
            service=Service(str(CHROMEDRIVER)), options=_options(language)
        )
        try:
            self.driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        except BaseException:
            self.driver.quit()
            raise

    def open(self, url: str) -> None:
        self.driver.get(url)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def _wait(self, timeout: float) -> WebDriverWait[webdriver.Chrome]:
        # A page that navigates or swaps a part while it is read makes Chromium answer
        # with an error about a node gone from the document: read it again.
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(WebDriverException,))

    def wait_for_text(self, text: str, timeout: float = 30) -> None:
        """Waits until ``text`` is in the page's visible text (pages update themselves)."""
        try:
            self._wait(timeout).until(
                expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), text)
            )
        except TimeoutException:
            raise AssertionError(
                f"{text!r} not on {self.driver.current_url} after {timeout} s; "
                f"the page says:\n{self.text()[:EXCERPT]}"
            ) from None

    def wait_for(self, css: str, timeout: float = 30) -> WebElement:
        """The first element matching ``css``, once it is visible."""
        try:
            element: WebElement = self._wait(timeout).until(
                expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
            )
        except TimeoutException:
            raise AssertionError(
                f"no visible {css!r} on {self.driver.current_url} after {timeout} s; "
                f"the page says:\n{self.text()[:EXCERPT]}"
            ) from None
        return element

    def screenshot(self, name: str) -> Path:
        """Saves the viewport as ``<name>.png`` in the screenshots directory."""
        directory = screenshots_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        if not self.driver.save_screenshot(str(path)):
            raise AssertionError(f"chromedriver could not save the screenshot {path}")
        if os.environ.get("SHIPWAY_UPDATE_DOCS_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        return path

    @contextmanager
    def phone(self) -> Iterator[None]:
        """A phone-sized window inside the block, the desktop size again after it."""
        self.driver.set_window_size(*PHONE)
        try:
            yield
        finally:
            self.driver.set_window_size(*DESKTOP)

    def quit(self) -> None:
        self.driver.quit()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.quit()
