"""Benchmark: how soon the dashboard shows data. Chromium (headless) opens the page in a
fresh context each time, so nothing is cached: the first load after the server started,
then cold loads, on this machine and with 50 ms added to every request (Chromium's network
emulation: a dashboard opened across a network, where each round trip in the chain counts). Each load reports when the page's HTML had arrived, when the last
of its modules had, when the first data row was on screen and when the page was ready,
and how many requests (and bytes) it took before the first data row. The baseline, in the same run
and the same browser (and the same latency), is what the data alone costs: the page's own
data requests (the log head, then statistics, pools and tasks at once) made with `fetch`
from a loaded page."""

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from tests.benchmarks.harness import Report, Row, Scale, progress
from tests.benchmarks.servers import server

CHROMIUM = Path(os.environ.get("TASKROUTERX_TEST_CHROMIUM", "/usr/bin/chromium"))
TASK = {"type": "order", "priority": 5, "cost": 1.0, "region": "eu-west"}
REMOTE_RTT_MS = 50

# Installed before the page's own scripts: note the moment the first row of data (a pool
# or a task) is put on the page.
WATCH_FIRST_DATA = """
new MutationObserver((_, observer) => {
  if (document.querySelector('#pools tbody tr, #tasks tbody tr[data-task]')) {
    window.__firstData = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

# Read once the page is ready: the navigation's and every resource's timings.
TIMINGS = """
() => {
  const navigation = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const modules = resources.filter((r) => r.name.includes('/dashboard/js/'));
  const before = resources.filter((r) => r.startTime < window.__firstData);
  return {
    html: navigation.responseEnd,
    modules: Math.max(0, ...modules.map((r) => r.responseEnd)),
    module_count: modules.length,
    first_data: window.__firstData,
    requests_before: before.length + 1,
    bytes_before: navigation.transferSize + before.reduce((sum, r) => sum + r.transferSize, 0),
    bytes: navigation.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
  };
}
"""

# The data alone: the page's own requests, in the page's order, from a page already loaded.
DATA_ONLY = """
async () => {
  const get = (path) => fetch(path, { headers: { Accept: 'application/json' } }).then((r) => r.json());
  const started = performance.now();
  await get('/api/v1/events?limit=1');
  await Promise.all([get('/api/v1/stats'), get('/api/v1/workers'), get('/api/v1/tasks?page=1&page_size=15')]);
  return performance.now() - started;
}
"""


@dataclass(frozen=True)
class Load:
    html: float
    modules: float
    module_count: int
    first_data: float
    requests_before: int
    bytes_before: int
    bytes: int


def run(scale: Scale, report: Report) -> None:
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"the dashboard benchmark needs Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    loads = max(3, scale.runs * 5)
    with tempfile.TemporaryDirectory() as folder, server("app", Path(folder) / "bench.db") as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(40):
                client.post("/api/v1/tasks", json=TASK).raise_for_status()
        with chromium() as browser:
            first = load(browser, url)
            cold: list[Load] = []
            remote: list[Load] = []
            with progress(report.console) as bar:
                step = bar.add_task("dashboard cold loads", total=2 * loads)
                for _ in range(loads):
                    cold.append(load(browser, url))
                    remote.append(load(browser, url, latency_ms=REMOTE_RTT_MS))
                    bar.advance(step, 2)
            floor = data_only(browser, url, loads)
            far_floor = data_only(browser, url, loads, latency_ms=REMOTE_RTT_MS)
    median = statistics.median
    far = f"cold load, {REMOTE_RTT_MS} ms round trip"
    rows = [
        ("cold load", "HTML arrived", median(c.html for c in cold), "ms"),
        ("cold load", "last module arrived", median(c.modules for c in cold), "ms"),
        ("cold load", "requests before first data", median(c.requests_before for c in cold), ""),
        ("cold load", "bytes before first data", median(c.bytes_before for c in cold), "B"),
        ("cold load", "modules", median(c.module_count for c in cold), ""),
        ("cold load", "bytes transferred", median(c.bytes for c in cold), "B"),
        (far, "last module arrived", median(c.modules for c in remote), "ms"),
    ]
    for case, metric, value, unit in rows:
        report.add(Row("dashboard", case, metric, value, unit))
    first_data = (
        ("first load after start", first.first_data, floor),
        ("cold load", median(c.first_data for c in cold), floor),
        (far, median(c.first_data for c in remote), far_floor),
    )
    for case, value, alone in first_data:
        report.add(
            Row(
                "dashboard",
                case,
                "first data on screen",
                value,
                "ms",
                baseline="its data requests alone",
                baseline_value=alone,
                target="< 500 ms",
            )
        )


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


def load(browser: Browser, url: str, latency_ms: float = 0) -> Load:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        slow_down(page, latency_ms)
        page.add_init_script(WATCH_FIRST_DATA)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        return Load(**page.evaluate(TIMINGS))
    finally:
        context.close()


def data_only(browser: Browser, url: str, times: int, latency_ms: float = 0) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        slow_down(page, latency_ms)
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        return statistics.median(float(page.evaluate(DATA_ONLY)) for _ in range(times))
    finally:
        context.close()


def slow_down(page: Page, latency_ms: float) -> None:
    """Add `latency_ms` to every request of the page: a dashboard opened across a network."""
    if not latency_ms:
        return
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    conditions = {"offline": False, "latency": latency_ms, "downloadThroughput": -1}
    session.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": -1})
