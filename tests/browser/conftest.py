"""The dashboard in a real browser: Debian's Chromium, driven headless by Playwright, against
the real server on a real SQLite file. Without /usr/bin/chromium these tests are reported
as skipped, with the reason, never passed.

Most tests share one server (each gets a fresh browser context); a test that restarts the
server or needs API keys starts its own. Browser and shared server live for one module:
Playwright's synchronous API keeps an event loop running on the main thread while it is
open, which would break the other tests' `asyncio.run`. Every page fails its test on a console error or an
uncaught exception, unless the test names the message it expects. When they end, the
main page with everything the tests left on it is saved to tests/artifacts/."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.e2e.support import Server

CHROMIUM = Path(os.environ.get("TASKROUTERX_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAST = {"TASKROUTERX_SIM_MIN_LATENCY_S": "0.05", "TASKROUTERX_SIM_MAX_LATENCY_S": "0.3"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests skipped: no Chromium at {CHROMIUM} (.ci/run installs Debian's "
            "chromium; or set TASKROUTERX_TEST_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dashboard")
    server = Server(folder / "dashboard.db", folder / "server.log", **FAST)
    yield server
    save_screenshots(browser, server.url)
    server.stop()


def save_screenshots(browser: Browser, url: str) -> None:
    """The main page as the run left it, wide and light, and phone-sized and dark."""
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport, scheme in (
        ("dashboard.png", {"width": 1280, "height": 900}, "light"),
        ("dashboard-phone-dark.png", {"width": 390, "height": 844}, "dark"),
    ):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#live[data-state=live]")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        context.close()


@dataclass
class Console:
    """What the page said on its console, and what the test expects it to say."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(part in e for part in self.expected)]


@dataclass
class Dashboard:
    page: Page
    server: Server
    console: Console

    @property
    def api(self) -> Any:
        return self.server.client

    def open(self, ready: bool = True) -> Page:
        """Go to the dashboard; with `ready`, wait until it has loaded and streams live."""
        self.page.goto(self.server.url)
        if ready:
            self.page.wait_for_selector("body[data-ready=true]")
            self.page.wait_for_selector("#live[data-state=live]")
        return self.page


OpenDashboard = Callable[..., Dashboard]


@pytest.fixture
def open_dashboard(browser: Browser) -> Iterator[OpenDashboard]:
    """Open the dashboard of a server in a fresh context; after the test, no console errors
    (but those the test expects) and no uncaught exceptions."""
    opened: list[tuple[Any, Console]] = []

    def open_(
        server: Server,
        ready: bool = True,
        expect_errors: tuple[str, ...] = (),
        prepare: Callable[[BrowserContext], None] | None = None,
        **context_options: Any,
    ) -> Dashboard:
        context = browser.new_context(**context_options)
        if prepare is not None:
            prepare(context)
        page = context.new_page()
        console = Console(expected=list(expect_errors))
        page.on("console", console.record)
        page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
        opened.append((context, console))
        dashboard = Dashboard(page, server, console)
        dashboard.open(ready)
        return dashboard

    yield open_
    for context, _ in opened:
        context.close()
    problems = [error for _, console in opened for error in console.unexpected()]
    assert problems == [], f"console errors: {problems}"


@pytest.fixture
def dashboard(open_dashboard: OpenDashboard, shared_server: Server) -> Dashboard:
    return open_dashboard(shared_server, viewport={"width": 1280, "height": 900})
