"""Fixtures: the example site under gunicorn (4 workers, loopback, 3-second
access tokens) and Chromium from Debian driven by Selenium, with a fresh
profile per test and a screenshot of every test in build/browser/.

Nothing is downloaded: the driver is Debian's chromedriver, named
explicitly, and Selenium Manager is kept offline.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sites import Site, free_port, gunicorn, manage, site_env

os.environ.setdefault("SE_OFFLINE", "true")

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent.parent / "build" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ACCESS_SECONDS = 3
WORKERS = 4
EMAIL = "demo@example.com"
PASSWORD = "portfolio-demo-password"

# The flags of the brief, plus three that keep a window in the background
# from having its timers throttled (the two-tab test fires on a timer).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--window-size=1000,900",
)


@dataclass
class BrowserSite(Site):
    events_log: Path = Path()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self, kind: str, family: str | None = None) -> int:
        """How many audit events of `kind` (of session `family`) the site logged."""
        session = re.escape(family) if family else r"\S+"
        pattern = re.compile(rf"\btessera {kind} user=\S+ family={session} ")
        return sum(1 for line in self.events_log.read_text().splitlines() if pattern.search(line))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserSite]:
    data = tmp_path_factory.mktemp("site")
    port = free_port()
    events_log = data / "events.log"
    events_log.touch()
    env = site_env(
        data,
        DJANGO_SETTINGS_MODULE="browser_settings",
        BROWSER_ACCESS_SECONDS=str(ACCESS_SECONDS),
        BROWSER_EVENTS_LOG=str(events_log),
        PYTHONPATH=os.pathsep.join([str(HERE), site_env(data)["PYTHONPATH"]]),
    )
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "portfolio_demo", "--base-url", f"http://127.0.0.1:{port}")
    with gunicorn(env, port, WORKERS, data / "gunicorn.log") as running:
        yield BrowserSite(running.port, running.env, events_log=events_log)


Browser = Callable[[], WebDriver]


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """Starts Chromium on a fresh profile (once per test); its screenshot is
    saved when the test ends, whatever the outcome."""
    drivers: list[WebDriver] = []
    profile = Path(tempfile.mkdtemp(prefix="tessera-chromium-"))

    def start() -> WebDriver:
        assert not drivers, "one browser per test: open windows for more tabs"
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER)
        )
        driver.set_script_timeout(30)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in drivers:
            try:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))
            finally:
                driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(
    driver: WebDriver, condition: Callable[[WebDriver], object], timeout: float = 10
) -> object:
    # A condition that reads an element while the page navigates (a sign-in
    # form's submit, a reload) may find it replaced: that poll is retried,
    # within the same timeout, as a missing element is.
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.05,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(condition)
