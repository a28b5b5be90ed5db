"""What an operator does on the dashboard, in a real browser against the real server."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from interfaces.http.middleware.auth import digest
from tests.browser.conftest import Dashboard, OpenDashboard
from tests.e2e.support import Server, wait_until

TASK = {"type": "order", "priority": 5, "cost": 1, "region": "us-east"}
CPU_TASK = {**TASK, "resource_type": "cpu"}
CPU_SLOTS = 34
"""The demo pools' cpu slots (10 + 8 + 10 + 6)."""


def submit(dashboard: Dashboard, **task: Any) -> dict[str, Any]:
    response = dashboard.api.post("/api/v1/tasks", json={**TASK, **task})
    assert response.status_code == 201, response.text
    return dict(response.json())


def head(dashboard: Dashboard) -> int:
    return int(dashboard.api.get("/api/v1/events", params={"limit": 1}).json()["head"])


def test_a_task_submitted_through_the_form_appears_and_completes(dashboard: Dashboard) -> None:
    page = dashboard.page
    form = page.locator("#task-form")
    form.get_by_label("Type").select_option("simulation")
    form.get_by_label("Priority").fill("8")
    form.get_by_label("Cost").fill("2.5")
    form.get_by_label("Region").fill("eu-west")
    form.get_by_label("Resource").select_option("gpu")
    form.get_by_label("Metadata (JSON)").fill('{"from": "the browser"}')
    form.get_by_role("button", name="Submit").click()

    link = form.locator(".outcome a")
    expect(link).to_be_visible()
    ending = link.inner_text()
    row = page.locator(f'#tasks tbody tr[data-task$="{ending}"]')
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(row.locator("td").nth(1)).to_have_text("simulation")
    expect(row.locator("td").nth(5)).to_have_text("eu-west-gpu-pool")

    task_id = row.get_attribute("data-task")
    stored = dashboard.api.get(f"/api/v1/tasks/{task_id}").json()
    assert (stored["type"], stored["priority"], stored["cost"], stored["region"]) == (
        "simulation", 8, 2.5, "eu-west",
    )  # fmt: skip
    assert (stored["resource_type"], stored["task_metadata"]) == ("gpu", {"from": "the browser"})
    expect(page.locator('#figures [data-field="tasks_completed"] dd')).not_to_have_text("0")


def test_a_bad_value_shows_the_apis_error_next_to_its_field_and_writes_nothing(
    dashboard: Dashboard,
) -> None:
    dashboard.console.expected.append("status of 422")
    page = dashboard.page
    form = page.locator("#task-form")
    before = head(dashboard)

    form.get_by_label("Priority").fill("11")
    form.get_by_label("Region").fill("us east!")
    form.get_by_role("button", name="Submit").click()
    priority_error = form.locator("#task-form-priority-error")
    expect(priority_error).to_have_text("Input should be less than or equal to 10")
    expect(form.get_by_label("Priority")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#task-form-region-error")).to_contain_text("should match pattern")

    form.get_by_label("Priority").fill("3")
    form.get_by_label("Region").fill("us-east")
    form.get_by_label("Metadata (JSON)").fill("{not json")
    form.get_by_role("button", name="Submit").click()
    expect(form.locator("#task-form-metadata-error")).to_contain_text("not valid JSON")
    expect(priority_error).to_have_count(0)
    assert head(dashboard) == before, "no bad submission wrote anything"


def test_switching_the_algorithm_shows_the_active_one(dashboard: Dashboard) -> None:
    page = dashboard.page
    form = page.locator("#algorithm-form")
    try:
        form.get_by_label("Algorithm").select_option("min_cost")
        form.get_by_role("button", name="Switch").click()
        expect(page.locator("#active-algorithm")).to_have_text("algorithm: min_cost")
        assert dashboard.api.get("/api/v1/algorithms").json()["active"] == "min_cost"
        page.reload()
        expect(page.locator("#active-algorithm")).to_have_text("algorithm: min_cost")
        expect(form.get_by_label("Algorithm")).to_have_value("min_cost")
    finally:
        dashboard.api.post("/api/v1/algorithms/switch", json={"algorithm": "fifo"})
    expect(page.locator("#active-algorithm")).to_have_text("algorithm: fifo")


def test_a_tasks_view_explains_the_decision_that_placed_it(dashboard: Dashboard) -> None:
    task = submit(dashboard, region="us-west", resource_type="gpu", priority=9)
    page = dashboard.page
    row = page.locator(f'#tasks tbody tr[data-task="{task["id"]}"]')
    row.click()
    dialog = page.locator("#task-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text(f"Task {task['id']}")
    decision = dialog.locator(".decision").first
    expect(decision.locator(".decision-summary")).to_contain_text("chose us-west-gpu-pool")
    chosen = decision.locator("tr.chosen")
    expect(chosen).to_have_count(1)
    expect(chosen.locator("th")).to_have_text("us-west-gpu-pool")
    expect(chosen.locator("td").last).to_have_text(re.compile(r"^chosen"))
    verdicts = decision.locator("tbody tr td:last-child").all_inner_texts()
    assert len(verdicts) == 8, "every pool the scheduler saw is listed"
    assert verdicts.count("filtered out: wrong resource type") == 4
    assert "filtered out: other region" in verdicts
    states = dialog.locator(".states li")
    expect(states.first).to_have_attribute("data-state", "queued")
    expect(dialog.locator(".states li[data-state=completed]")).to_have_count(1, timeout=15_000)
    expect(dialog.locator("table.events tbody tr").first).to_contain_text("TaskQueued")
    dialog.get_by_role("button", name="close").click()
    expect(dialog).to_be_hidden()


def test_the_event_log_shows_new_events_live_without_a_reload(dashboard: Dashboard) -> None:
    page = dashboard.page
    page.evaluate("window.sameDocument = true")
    task = submit(dashboard)
    stream = f"task-{task['id']}"
    queued = page.locator(f'#event-log li[data-type="TaskQueued"]:has-text("{stream}")')
    expect(queued).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True, "no reload happened"

    filters = page.locator("#event-filters")
    filters.get_by_label("Stream").fill(stream)
    # another task's completion may be the one shown until the filter applies: wait for it
    expect(page.locator(f'#event-log li:not(:has-text("{stream}"))')).to_have_count(0)
    completed = page.locator(f'#event-log li[data-type=TaskCompleted]:has-text("{stream}")')
    expect(completed).to_have_count(1, timeout=15_000)
    expect(page.locator("#event-log li[data-type=TaskCompleted]")).to_have_count(1)
    expect(page.locator(f'#event-log li:not(:has-text("{stream}"))')).to_have_count(0)
    filters.get_by_label("Type").select_option("TaskQueued")
    expect(page.locator("#event-log li")).to_have_count(1)
    page.locator("#event-log li summary").click()
    payload = page.locator("#event-log li pre")
    expect(payload).to_be_visible()
    assert task["id"] in payload.inner_text()


def test_the_task_list_filters_by_status_region_and_type(dashboard: Dashboard) -> None:
    submit(dashboard, region="ap-east", type="query")
    page = dashboard.page
    filters = page.locator("#task-filters")
    filters.get_by_label("Region").select_option("ap-east")
    filters.get_by_label("Type").select_option("query")
    rows = page.locator("#tasks tbody tr[data-task]")
    expect(rows.first).to_be_visible()
    expect(page.locator("#tasks tbody td:nth-child(4):not(:text-is('ap-east'))")).to_have_count(0)
    expect(page.locator("#tasks tbody td:nth-child(2):not(:text-is('query'))")).to_have_count(0)
    filters.get_by_label("Status").select_option("cancelled")
    expect(page.locator("#tasks tbody td.empty")).to_have_text("no tasks match")


def test_tenants_are_listed_and_tasks_go_to_and_filter_by_a_tenant(dashboard: Dashboard) -> None:
    page = dashboard.page
    created = dashboard.api.post(
        "/api/v1/tenants", json={"name": "browser-team", "weight": 2, "quota": {"cpu": 3}}
    )
    assert created.status_code == 201, created.text
    tenant = page.locator('#tenants tr[data-tenant="browser-team"]')
    expect(tenant).to_be_visible()  # refreshed by the TenantCreated event, live
    expect(tenant.locator("td").nth(0)).to_have_text("2")
    expect(tenant.locator("td").nth(1)).to_have_text("3 cpu")
    expect(tenant.locator("td").nth(2)).to_have_text("none")
    expect(page.locator('#tenants tr[data-tenant="default"]')).to_be_visible()

    form = page.locator("#task-form")
    form.get_by_label("Tenant").select_option("browser-team")
    form.get_by_role("button", name="Submit").click()
    link = form.locator(".outcome a")
    expect(link).to_be_visible()
    row = page.locator(f'#tasks tbody tr[data-task$="{link.inner_text()}"]')
    expect(row.locator("td").nth(7)).to_have_text("browser-team")
    task_id = row.get_attribute("data-task")
    assert dashboard.api.get(f"/api/v1/tasks/{task_id}").json()["tenant"] == "browser-team"

    submit(dashboard)  # the default tenant's
    filters = page.locator("#task-filters")
    filters.get_by_label("Tenant").select_option("browser-team")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(1)
    expect(page.locator("#tasks tbody tr[data-task] td").nth(7)).to_have_text("browser-team")
    filters.get_by_label("Tenant").select_option("")
    expect(page.locator("#tasks tbody td:text-is('default')").first).to_be_visible()


def test_changing_a_pools_capacity(dashboard: Dashboard) -> None:
    dashboard.console.expected.append("status of 422")
    page = dashboard.page
    pools = {p["name"]: p for p in dashboard.api.get("/api/v1/workers").json()["worker_pools"]}
    pool = pools["ap-east-gpu-pool"]
    row = page.locator(f'#pools tr[data-pool="{pool["id"]}"]')
    try:
        row.get_by_label("capacity of ap-east-gpu-pool").fill("7")
        row.get_by_role("button", name="Set").click()
        expect(row.locator(".load")).to_have_text(re.compile(r" / 7$"))
        assert dashboard.api.get(f"/api/v1/workers/{pool['id']}").json()["capacity"] == 7

        row.get_by_label("capacity of ap-east-gpu-pool").fill("-1")
        row.get_by_role("button", name="Set").click()
        expect(page.locator("#pools .form-error")).to_contain_text(
            "ap-east-gpu-pool: body.capacity: Input should be greater than or equal to 0"
        )
        assert dashboard.api.get(f"/api/v1/workers/{pool['id']}").json()["capacity"] == 7
    finally:
        dashboard.api.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": pool["capacity"]})
    expect(row.locator(".load")).to_have_text(re.compile(rf" / {pool['capacity']}$"))


def test_a_traffic_simulation_shows_its_progress(dashboard: Dashboard) -> None:
    page = dashboard.page
    form = page.locator("#simulate-form")
    form.get_by_label("Tasks").fill("30")
    form.get_by_label("Distribution").select_option("burst")
    form.get_by_label("Region bias").select_option("eu-west")
    form.get_by_role("button", name="Simulate").click()
    expect(form.locator(".outcome")).to_have_text("30 of 30 tasks · completed", timeout=15_000)
    expect(page.locator("#simulate-progress")).to_have_attribute("value", "30")


def test_verifying_the_log_and_a_what_if_replay(dashboard: Dashboard) -> None:
    submit(dashboard)
    page = dashboard.page
    audit = page.locator("#audit")
    expect(audit).to_be_visible()
    audit.get_by_role("button", name="Verify the log").click()
    expect(audit.locator(".verdict")).to_contain_text("✓ the log verifies")
    expect(audit.locator(".verdict")).to_contain_text("0 mismatches, 0 violations")
    expect(audit.locator("#verify-result")).to_contain_text("the log's head")
    audit.get_by_role("button", name="Verify again from the start").click()
    expect(audit.locator("#verify-result")).to_contain_text("(from the start)")
    expect(audit.locator(".verdict")).to_contain_text("✓ the log verifies")

    audit.get_by_label("What if").select_option("min_cost")
    audit.get_by_role("button", name="Replay").click()
    table = audit.locator("table.comparison")
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("thead")).to_contain_text("What if min_cost")
    pools = len(dashboard.api.get("/api/v1/workers").json()["worker_pools"])
    expect(audit.locator("svg.bars rect")).to_have_count(2 * pools)


def test_a_phone_sized_screen_in_dark_mode(
    open_dashboard: OpenDashboard, shared_server: Server
) -> None:
    phone = open_dashboard(shared_server, viewport={"width": 390, "height": 844},
                           color_scheme="dark", is_mobile=True)  # fmt: skip
    page = phone.page
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, "nothing overflows"
    assert luminance(page, "body") < 0.1
    assert luminance(page, ".card") < 0.1
    assert contrast(page, ".figure dd") > 7
    page.emulate_media(color_scheme="light")
    assert luminance(page, "body") > 0.8
    assert contrast(page, ".figure dd") > 7


def luminance(page: Page, selector: str, prop: str = "backgroundColor") -> float:
    rgb = page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", rgb)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(page: Page, selector: str) -> float:
    text = luminance(page, selector, "color")
    ground = luminance(page, ".card")
    light, dark = max(text, ground), min(text, ground)
    return (light + 0.05) / (dark + 0.05)


def test_the_live_log_resumes_after_a_server_restart_with_nothing_lost_or_twice(
    open_dashboard: OpenDashboard, tmp_path: Path
) -> None:
    server = Server(tmp_path / "restart.db", tmp_path / "server.log")
    try:
        dashboard = open_dashboard(server)
        dashboard.console.expected.append("ERR_CONNECTION_REFUSED")
        page = dashboard.page
        first = submit(dashboard)
        expect(page.locator(f'#event-log li:has-text("task-{first["id"]}")').first).to_be_visible()
        port = server.port
        server.stop()
        expect(page.locator("#live")).not_to_have_attribute("data-state", "live")
        server = Server(tmp_path / "restart.db", tmp_path / "server.log", port=port)
        dashboard.server = server
        expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
        second = submit(dashboard)
        wait_until(lambda: server.client.get(f"/api/v1/tasks/{second['id']}").json()["status"]
                   == "completed", timeout=15)  # fmt: skip
        final = head(dashboard)
        expect(page.locator(f'#event-log li[data-position="{final}"]')).to_have_count(1)
        shown = [int(p) for p in page.locator("#event-log li").evaluate_all(
            "items => items.map(item => item.dataset.position)")]  # fmt: skip
        assert len(shown) == len(set(shown)), "no event is shown twice"
        assert sorted(shown) == list(range(min(shown), final + 1)), "none is missing"
    finally:
        server.stop()


def test_without_the_stream_it_falls_back_to_polling(
    open_dashboard: OpenDashboard, shared_server: Server
) -> None:
    def no_stream(context: BrowserContext) -> None:
        context.route("**/api/v1/events/stream*", lambda route: route.abort())

    dashboard = open_dashboard(shared_server, ready=False, prepare=no_stream,
                               expect_errors=("net::ERR_FAILED",))  # fmt: skip
    page = dashboard.page
    expect(page.locator("#live")).to_have_attribute("data-state", "polling", timeout=20_000)
    task = submit(dashboard)
    expect(page.locator(f'#event-log li:has-text("task-{task["id"]}")').first).to_be_visible()
    expect(page.locator(f'#tasks tbody tr[data-task="{task["id"]}"]')).to_have_count(1)


def test_with_api_keys_the_dashboard_asks_for_one(
    open_dashboard: OpenDashboard, tmp_path: Path
) -> None:
    keys = [{"name": "ops", "sha256": digest("the-ops-key"), "scopes": ["admin"]}]
    server = Server(tmp_path / "keys.db", tmp_path / "server.log",
                    TASKROUTERX_API_KEYS=json.dumps(keys))  # fmt: skip
    try:
        dashboard = open_dashboard(server, ready=False, expect_errors=("status of 401",))
        page = dashboard.page
        key_form = page.locator("#key-form")
        expect(key_form).to_be_visible()
        expect(page.locator("#notice")).to_contain_text("an API key is required")
        key_form.get_by_label("API key").fill("the-ops-key")
        key_form.get_by_role("button", name="Use key").click()
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#live")).to_have_attribute("data-state", "live")
        expect(page.locator("#pools tbody tr")).to_have_count(8)
        expect(key_form).to_be_hidden()
        page.locator("#task-form").get_by_role("button", name="Submit").click()
        expect(page.locator("#task-form .outcome a")).to_be_visible()
        expect(page.locator('#event-log li[data-type="TaskQueued"]')).to_have_count(1)
        page.close()  # before its server goes
    finally:
        server.stop()


def test_live_refreshes_leave_the_keyboard_focus_and_an_edit_alone(dashboard: Dashboard) -> None:
    page = dashboard.page
    pools = {p["name"]: p for p in dashboard.api.get("/api/v1/workers").json()["worker_pools"]}
    pool = pools["us-east-cpu-pool"]
    simulation = dashboard.api.post("/api/v1/simulate", json={"task_count": 400}).json()
    focused = "document.activeElement.dataset.focus"
    row = page.locator(f'#pools tr[data-pool="{pool["id"]}"]')
    try:
        field = row.get_by_label("capacity of us-east-cpu-pool")
        field.fill("12")
        page.wait_for_timeout(2500)  # the pools redraw several times meanwhile
        expect(field).to_have_value("12")
        page.keyboard.press("Tab")
        assert page.evaluate(focused) == f"set-{pool['id']}"
        page.wait_for_timeout(2500)
        assert page.evaluate(focused) == f"set-{pool['id']}", "the focus survived the redraws"
        page.keyboard.press("Enter")
        expect(row.locator(".load")).to_have_text(re.compile(r" / 12$"))
        assert dashboard.api.get(f"/api/v1/workers/{pool['id']}").json()["capacity"] == 12

        wait_until(lambda: dashboard.api.get(f"/api/v1/simulate/{simulation['id']}").json()
                   ["status"] != "running")  # fmt: skip
        opener = page.locator("#tasks tbody tr[data-task] button").first
        task_id = opener.get_attribute("data-focus")
        opener.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#task-dialog")).to_be_visible()
        newer = submit(dashboard)  # the task list redraws behind the dialog
        expect(page.locator(f'#tasks tbody tr[data-task="{newer["id"]}"]')).to_have_count(1)
        page.keyboard.press("Escape")
        expect(page.locator("#task-dialog")).to_be_hidden()
        # the row that opened it was redrawn behind the dialog: the page gives the focus to
        # the row drawn in its place once the dialog has closed
        page.wait_for_function("id => document.activeElement?.dataset.focus === id", arg=task_id,
                               timeout=15_000)  # fmt: skip
    finally:
        dashboard.api.patch(f"/api/v1/workers/{pool['id']}", json={"capacity": pool["capacity"]})


def test_a_task_with_a_damaged_history_shows_the_servers_message(
    open_dashboard: OpenDashboard, tmp_path: Path
) -> None:
    import sqlite3

    database = tmp_path / "damaged.db"
    server = Server(database, tmp_path / "server.log", TASKROUTERX_SIMULATOR="off",
                    TASKROUTERX_SCHEDULER="off")  # fmt: skip
    try:
        task = server.client.post("/api/v1/tasks", json=TASK).json()
        position = server.client.get(f"/api/v1/tasks/{task['id']}/events").json()["events"][0][
            "position"
        ]
        with sqlite3.connect(database) as db:
            db.execute("UPDATE events SET payload = '{}' WHERE position = ?", (position,))
        dashboard = open_dashboard(server, expect_errors=("500",))
        page = dashboard.open()
        page.locator(f'#tasks tbody tr[data-task="{task["id"]}"]').click()
        alert = page.locator("#task-detail [role=alert]")
        expect(alert).to_contain_text(f"the stored event at position {position}")
        expect(alert).to_contain_text("cannot be read")
        page.close()  # before its server goes
    finally:
        server.stop()


def tenant_figures(client: Any) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in client.get("/api/v1/tenants").json()["tenants"]}


@pytest.fixture(scope="module")
def contended(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Server]:
    """No simulated workers (a task runs until told otherwise): tenant batch's preemptible
    tasks filled every cpu slot, then tenant online arrived and took its half of them, 17
    preemptions; both still have tasks waiting."""
    folder = tmp_path_factory.mktemp("tenants")
    server = Server(folder / "tenants.db", folder / "server.log", TASKROUTERX_SIMULATOR="off")
    try:
        client = server.client
        for name in ("batch", "online"):
            assert client.post("/api/v1/tenants", json={"name": name}).status_code == 201
        for _ in range(40):
            client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "batch", "preemptible": True})
        wait_until(lambda: tenant_figures(client)["batch"]["processing"] == CPU_SLOTS)
        for _ in range(30):
            client.post("/api/v1/tasks", json={**CPU_TASK, "tenant": "online"})
        wait_until(lambda: tenant_figures(client)["batch"]["preempted"] == CPU_SLOTS // 2)
        wait_until(lambda: tenant_figures(client)["online"]["processing"] == CPU_SLOTS // 2)
        yield server
    finally:
        server.stop()


def test_the_tenants_panel_shows_preemptions_and_each_tenants_share_of_the_slots(
    open_dashboard: OpenDashboard, contended: Server
) -> None:
    page = open_dashboard(contended, viewport={"width": 1280, "height": 900}).page
    batch = page.locator('#tenants tr[data-tenant="batch"]')
    expect(batch.locator("td[data-field=preempted]")).to_have_text("17")
    expect(batch.locator("td[data-field=processing]")).to_have_text("17")
    online = page.locator('#tenants tr[data-tenant="online"]')
    expect(online.locator("td[data-field=preempted]")).to_have_text("0")
    expect(page.locator("#tenants thead th").last).to_have_text("Preempted")

    chart = page.get_by_role(
        "img", name="each tenant's share of the slots over the last ten minutes"
    )
    lines = chart.locator("path.line")
    expect(lines).to_have_count(2)  # the default tenant ran nothing: no line
    legend = page.locator("#tenant-legend .key")
    expect(legend).to_have_text(["batch", "online"])
    expect(page.locator("#tenant-legend")).to_contain_text("share of the 51 slots")
    drawn = page.evaluate(
        """() => [...document.querySelectorAll("#tenant-legend .key")].map((key) => {
            const tenant = [...key.classList].find((name) => /^tenant-\\d$/.test(name));
            const line = document.querySelector(`#tenant-chart path.line.${tenant}`);
            return { name: key.textContent, key: getComputedStyle(key).color,
                     title: line.querySelector("title").textContent,
                     stroke: getComputedStyle(line).stroke,
                     end: Number(line.getAttribute("d").split(",").at(-1)) };
        })"""
    )
    for line in drawn:
        assert line["title"] == line["name"], "each legend entry names its own line"
        assert line["stroke"] == line["key"], (
            f"{line['name']}: its line and its name share a colour"
        )
    assert drawn[0]["stroke"] != drawn[1]["stroke"], "each tenant has a colour of its own"
    assert drawn[0]["end"] == drawn[1]["end"], "17 of 51 slots each, now"


def test_a_decision_shows_the_tenant_stage_that_chose_its_tenant(
    open_dashboard: OpenDashboard, contended: Server
) -> None:
    page = open_dashboard(contended, viewport={"width": 1280, "height": 900}).page
    filters = page.locator("#task-filters")
    filters.get_by_label("Status").select_option("processing")
    filters.get_by_label("Tenant").select_option("online")
    expect(page.locator("#tasks tbody td:nth-child(8):not(:text-is('online'))")).to_have_count(0)
    row = page.locator("#tasks tbody tr[data-task]").first
    task_id = row.get_attribute("data-task")
    decisions = contended.client.get(f"/api/v1/tasks/{task_id}/decisions").json()["decisions"]
    stage = next(d["tenant_stage"] for d in decisions if d["outcome"] == "assigned")
    assert stage["chosen"] == "online", stage
    row.click()
    dialog = page.locator("#task-dialog")
    summary = dialog.locator(".tenant-stage .stage-summary")
    expect(summary).to_have_text(f"Tenants: {stage['summary']}")
    expect(summary).to_contain_text("batch waits: over its share")
    chosen = dialog.locator('.tenant-stage tr[data-tenant="online"]')
    expect(chosen).to_have_class("chosen")
    expect(chosen.locator("td").last).to_have_text("chosen")
    waiting = dialog.locator('.tenant-stage tr[data-tenant="batch"] td')
    running = next(t for t in stage["tenants"] if t["name"] == "batch")["running"]["cpu"]
    expect(waiting.nth(1)).to_have_text(f"{running} cpu")
    expect(waiting.last).to_have_text(re.compile(r"^over its share \(\d"))
    expect(dialog.locator(".tenant-stage .hint")).to_contain_text("capacity 34 cpu · 17 gpu")


def test_a_what_if_replay_with_other_weights_compares_each_tenant(
    open_dashboard: OpenDashboard, contended: Server
) -> None:
    dashboard = open_dashboard(contended, viewport={"width": 1280, "height": 900},
                               expect_errors=("status of 422",))  # fmt: skip
    page = dashboard.page
    audit = page.locator("#audit")
    weights = audit.get_by_label("Weights")
    weights.fill("online=3, batch=1")
    with (
        page.expect_request("**/api/v1/replays") as sent,
        page.expect_response("**/api/v1/replays") as answer,
    ):
        audit.get_by_role("button", name="Replay").click()
    assert sent.value.post_data_json == {
        "algorithm": "fifo", "tenants": {"online": {"weight": 3}, "batch": {"weight": 1}},
    }  # fmt: skip
    figures = answer.value.json()["tenants"]
    table = audit.locator("table.tenant-comparison")
    expect(table.locator("caption")).to_have_text("Per tenant, with weights online=3, batch=1")
    expect(table.locator("tbody th")).to_have_text(["batch", "online"])
    batch = table.locator('tr[data-tenant="batch"] td')
    expect(batch).to_have_count(6)
    expect(batch.nth(4)).to_have_text(str(figures["actual"]["batch"]["preemptions"]))
    expect(batch.nth(5)).to_have_text(str(figures["what_if"]["batch"]["preemptions"]))
    assert figures["actual"]["batch"]["preemptions"] == 17

    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    weights.fill("online=3, batch")
    audit.get_by_role("button", name="Replay").click()
    error = audit.locator(".form-error")
    expect(error).to_have_text('weights: "batch" is not tenant=weight (as in team-a=2, team-b=1)')
    expect(weights).to_have_attribute("aria-invalid", "true")
    expect(table).to_have_count(0)

    weights.fill("nobody=2")
    audit.get_by_role("button", name="Replay").click()
    expect(error).to_have_text("no task or setting of tenant nobody in the replayed history")
    expect(weights).to_have_attribute("aria-invalid", "false")
    replays = [request.post_data_json for request in requests if "/replays" in request.url]
    assert replays == [{"algorithm": "fifo", "tenants": {"nobody": {"weight": 2}}}], (
        "the malformed entry sent nothing"
    )
