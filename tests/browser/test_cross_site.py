"""What another website can make the operator's browser do to a local server, tried in a
real browser: a page served from another origin sends the requests a browser sends
without asking (text/plain and bodiless POSTs, a form posted into a hidden frame), and a
DNS-rebound name (attacker.example resolved to 127.0.0.1 by the browser) reads the API.
Nothing is written and nothing is read."""

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS
from tests.e2e.support import Server, free_port

ATTACK = """<!doctype html>
<html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="rebuild" method="POST" enctype="text/plain" target="sink"
      action="{victim}/api/v1/projections/tasks/rebuild">
  <input name='{{"x":"' value='"}}'>
</form>
<script>
(async () => {{
  const victim = "{victim}";
  const attempts = [
    fetch(victim + "/api/v1/tasks", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}},
      body: JSON.stringify({{type: "order", priority: 9, cost: 1, region: "us-east"}})}}),
    fetch(victim + "/api/v1/workers/{pool}/drain", {{method: "POST", mode: "no-cors"}}),
    fetch(victim + "/api/v1/algorithms/switch", {{method: "POST", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}}, body: '{{"algorithm":"min_cost"}}'}}),
  ];
  await Promise.allSettled(attempts);
  document.getElementById("rebuild").submit();
  setTimeout(() => {{ document.title = "done"; }}, 1000);
}})();
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium that resolves attacker.example to this machine, as DNS rebinding would."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*LAUNCH_ARGS, "--host-resolver-rules=MAP attacker.example 127.0.0.1"],
        )
        yield launched
        launched.close()


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "victim.db", tmp_path / "server.log",
                    TASKROUTERX_SIMULATOR="off")  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def attacker_site(tmp_path: Path, victim: Server) -> Iterator[str]:
    """A page on another origin (another port), as any website the operator visits."""
    pool = victim.client.get("/api/v1/workers").json()["worker_pools"][0]["id"]
    site = tmp_path / "site"
    site.mkdir()
    (site / "attack.html").write_text(ATTACK.format(victim=victim.url, pool=pool))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/attack.html"
    httpd.shutdown()


def state(server: Server) -> tuple[int, list[bool], str, list[object]]:
    client = server.client
    return (
        client.get("/api/v1/events", params={"limit": 1}).json()["head"],
        [pool["draining"] for pool in client.get("/api/v1/workers").json()["worker_pools"]],
        client.get("/api/v1/algorithms").json()["active"],
        [p["rebuild"] for p in client.get("/api/v1/projections").json()["projections"]],
    )


def test_a_page_on_another_site_cannot_act_on_the_local_server(
    browser: Browser, victim: Server, attacker_site: str
) -> None:
    before = state(victim)
    context = browser.new_context()
    page = context.new_page()
    page.goto(attacker_site)
    page.wait_for_function("document.title === 'done'", timeout=15_000)
    context.close()
    assert state(victim) == before


def test_a_rebound_name_cannot_read_the_api_or_the_dashboard(
    browser: Browser, victim: Server
) -> None:
    context = browser.new_context()
    page = context.new_page()
    for path in ("/api/v1/tasks", "/"):
        response = page.goto(f"http://attacker.example:{victim.port}{path}")
        assert response is not None
        assert response.status == 400, path
        assert "host-not-allowed" in response.text()
    own = page.goto(f"http://127.0.0.1:{victim.port}/api/v1/tasks")
    assert own is not None
    assert own.status == 200
    context.close()
