"""What a newcomer noticed on the dashboard in Chromium (1440x900 and phone-sized, light and
dark, keyboard only): the what-if chart's bars and labels, the way past the pools to the
task list, text that is hard to read, filters that seemed to do nothing, and small layout
slips. Measured in a real browser against the real server."""

import re
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error, Locator, Page, Route, expect

from tests.browser.conftest import Dashboard, OpenDashboard
from tests.e2e.support import Server, wait_until
from tests.postgres_support import fresh_database

WIDE = {"width": 1440, "height": 900}
TASK = {"type": "order", "priority": 5, "cost": 1, "region": "us-east"}


def submit(dashboard: Dashboard, **task: Any) -> dict[str, Any]:
    response = dashboard.api.post("/api/v1/tasks", json={**TASK, **task})
    assert response.status_code == 201, response.text
    return dict(response.json())


def finished(dashboard: Dashboard, task: dict[str, Any]) -> None:
    wait_until(lambda: dashboard.api.get(f"/api/v1/tasks/{task['id']}").json()["status"]
               == "completed", timeout=15)  # fmt: skip


def box(locator: Locator) -> dict[str, float]:
    measured = locator.bounding_box()
    assert measured is not None, f"{locator} is not rendered"
    return measured


def middle(locator: Locator) -> float:
    measured = box(locator)
    return measured["y"] + measured["height"] / 2


@pytest.fixture
def wide(open_dashboard: OpenDashboard, shared_server: Server) -> Dashboard:
    return open_dashboard(shared_server, viewport=WIDE)


# 1. The what-if chart


def test_the_what_if_chart_draws_each_bar_to_its_value_with_its_label_beside_it(
    wide: Dashboard,
) -> None:
    tasks = [submit(wide, region=region, cost=cost)
             for region, cost in (("us-east", 1), ("us-west", 3), ("us-west", 2), ("eu-west", 5),
                                  ("ap-east", 2), ("ap-east", 4), ("ap-east", 1))]  # fmt: skip
    for task in tasks:
        finished(wide, task)
    page = wide.page
    audit = page.locator("#audit")
    audit.get_by_label("What if").select_option("min_cost")
    with page.expect_response("**/api/v1/replays") as answer:
        audit.get_by_role("button", name="Replay").click()
    recorded = answer.value.json()["actual"]["pool_utilization_pct"]
    what_if = answer.value.json()["what_if"]["pool_utilization_pct"]
    values = [v for pool in recorded for v in (recorded[pool], what_if.get(pool, 0))]  # bar order
    bars = audit.locator("svg.bars rect")
    expect(bars).to_have_count(len(values))
    assert len({v for v in values if v > 0}) >= 2, f"two utilizations to compare: {values}"

    widths = [box(bar)["width"] for bar in bars.all()]
    largest = max(range(len(values)), key=values.__getitem__)
    per_percent = widths[largest] / values[largest]
    assert widths[largest] > 100, "the fullest bar takes most of the chart's width"
    for value, width in zip(values, widths, strict=True):
        if value > 0:
            assert width == pytest.approx(value * per_percent, rel=0.03, abs=1), (
                f"a bar of {value} % is {width:.1f} px wide, the one of {values[largest]} % "
                f"{widths[largest]:.1f} px"
            )
        else:
            assert width < 2, "an idle pool has (next to) no bar"

    labels = audit.locator("svg.bars text").filter(has_text=re.compile(r"^[\d.,]+ %$"))
    expect(labels).to_have_count(len(values))
    for bar, label in zip(bars.all(), labels.all(), strict=True):
        end = box(bar)["x"] + box(bar)["width"]
        start = box(label)["x"]
        assert end - 1 <= start <= end + 60, f"a label at {start:.0f} px, its bar's end {end:.0f}"


# 2. Phone-sized screens

PHONE = {"width": 390, "height": 844}


def whole_on_screen(locator: Locator, what: str) -> None:
    """Shown in full, inside the screen's width, on one line, with no scrolling sideways."""
    measured = box(locator)
    where = f"{what} is at x={measured['x']:.0f}..{measured['x'] + measured['width']:.0f}"
    assert measured["x"] >= 0, where
    assert measured["x"] + measured["width"] <= PHONE["width"], where
    assert locator.evaluate("e => e.getClientRects().length") == 1, f"{what} is broken over lines"
    assert locator.evaluate("e => e.scrollWidth <= e.clientWidth || e.clientWidth === 0"), (
        f"{what} is cut off"
    )


def test_on_a_phone_each_pool_and_task_is_a_card_with_nothing_off_screen(
    open_dashboard: OpenDashboard, shared_server: Server
) -> None:
    task = submit_and_wait(open_dashboard, shared_server)
    phone = open_dashboard(shared_server, viewport=PHONE, is_mobile=True)
    page = phone.page
    for scroller in page.locator(".scroll").all():
        assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), (
            "nothing to scroll sideways"
        )
    pools = page.locator("#pools tbody tr")
    assert pools.count() >= 8
    for pool in pools.all():
        name = pool.locator("th").inner_text().split("\n")[0]
        whole_on_screen(pool.get_by_role("meter"), f"{name}'s load")
        whole_on_screen(pool.locator(".load"), f"{name}'s load figures")
        whole_on_screen(pool.get_by_role("spinbutton"), f"{name}'s capacity")
        whole_on_screen(pool.get_by_role("button", name="Set"), f"{name}'s Set")
        whole_on_screen(
            pool.get_by_role("button", name=re.compile("drain|resume", re.I)), f"{name}'s drain"
        )
    label = "e => getComputedStyle(e, '::before').content"
    assert pools.first.locator("td.bar-cell").evaluate(label) == '"Load / capacity"'
    row = page.locator(f'#tasks tbody tr[data-task="{task["id"]}"]')
    status = row.locator(".status")
    expect(status).to_have_text("completed")
    whole_on_screen(status, "the task's status")
    cells = row.locator("td")
    for index, column in ((5, "Pool"), (6, "Submitted")):
        whole_on_screen(cells.nth(index), column)
        assert cells.nth(index).evaluate(label) == f'"{column}"'
    expect(cells.nth(5)).to_have_text(task["worker_id"])
    # the header row is still there for screen readers, and each value is still a table cell
    expect(page.locator("#tasks").get_by_role("columnheader", name="Status")).to_have_count(1)
    expect(row.get_by_role("cell", name="completed")).to_have_count(1)


def test_a_wide_screen_keeps_the_tables(wide: Dashboard) -> None:
    header = wide.page.locator("#pools thead th").first
    assert box(header)["height"] > 1, "column names shown above the rows"
    first = wide.page.locator("#pools tbody tr").first
    assert first.evaluate("e => getComputedStyle(e).display") == "table-row"
    assert (
        first.locator("td.bar-cell").evaluate("e => getComputedStyle(e, '::before').content")
        == "none"
    )


def submit_and_wait(open_dashboard: OpenDashboard, server: Server) -> dict[str, Any]:
    response = server.client.post("/api/v1/tasks", json=TASK)
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    wait_until(lambda: server.client.get(f"/api/v1/tasks/{task_id}").json()["status"]
               == "completed", timeout=15)  # fmt: skip
    return dict(server.client.get(f"/api/v1/tasks/{task_id}").json())


# 3. The keyboard's way to the task list, landmarks and contrast


def test_the_first_tab_offers_a_skip_link_to_the_recent_tasks(wide: Dashboard) -> None:
    page = wide.page
    skip = page.get_by_role("link", name="Skip to recent tasks")
    expect(skip).not_to_be_in_viewport()  # hidden until it has the focus
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('tasks').contains(document.activeElement)")
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(page.locator("#task-filters").get_by_label("Status")).to_be_focused()


def test_every_part_of_the_page_is_in_a_named_landmark(wide: Dashboard) -> None:
    page = wide.page
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    for name in ("System", "Submit a task", "Scheduling", "Worker pools", "Recent tasks",
                 "Event log", "Audit"):  # fmt: skip
        expect(page.get_by_role("region", name=name, exact=True)).to_have_count(1)
    expect(page.get_by_role("navigation", name="task pages")).to_have_count(1)
    page.get_by_role("button", name="API key").click()
    expect(page.locator("#key-form")).to_be_visible()
    outside = page.evaluate(
        """() => [...document.body.querySelectorAll("*")]
            .filter((e) => e.checkVisibility() && e.getClientRects().length
                    && !e.closest("header, main, nav, footer, aside, dialog, .skip-link"))
            .map((e) => e.outerHTML.slice(0, 80))"""
    )
    assert outside == [], "shown outside every landmark"


CONTRAST = """(root) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const paint = canvas.getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {
    paint.clearRect(0, 0, 1, 1);
    paint.fillStyle = css;
    paint.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = paint.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under, alpha) => [0, 1, 2].map((i) => top[i] * alpha + under[i] * (1 - alpha));
  const luminance = (rgb) => {
    const linear = (c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    const [r, g, b] = rgb.map((c) => linear(c / 255));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (one, other) => {
    const [light, dark] = [luminance(one), luminance(other)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  // the colour behind an element (its own and its ancestors' backgrounds, stacked) and the
  // opacity it is drawn with
  const ground = (element) => {
    const chain = [];
    for (let node = element; node; node = node.parentElement) chain.unshift(node);
    let colour = rgba(getComputedStyle(document.body).colorScheme === "dark" ? "#000" : "#fff");
    let opacity = 1;
    for (const node of chain) {
      const style = getComputedStyle(node);
      const paint = rgba(style.backgroundColor);
      colour = over(paint, colour, paint[3]);
      opacity *= Number(style.opacity);
    }
    return [colour, opacity];
  };
  const failures = [];
  const check = (element, text, ink) => {
    const style = getComputedStyle(element);
    const [background, opacity] = ground(element);
    const size = parseFloat(style.fontSize);
    const needed = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700) ? 3 : 4.5;
    const measured = ratio(over(ink, background, ink[3] * opacity), background);
    if (measured < needed) {
      const name = `${element.tagName.toLowerCase()}.${[...element.classList].join(".")}`;
      failures.push(`${name} "${text.slice(0, 30)}": ${measured.toFixed(2)} < ${needed}`);
    }
  };
  for (const element of document.querySelector(root).querySelectorAll("*")) {
    if (["OPTION", "SCRIPT", "STYLE", "NOSCRIPT", "title"].includes(element.tagName)) continue;
    if (!element.checkVisibility({ checkVisibilityCSS: true, checkOpacity: true })) continue;
    if (element.closest(":disabled") || !element.getClientRects().length) continue;
    const style = getComputedStyle(element);
    const text = [...element.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE)
      .map((node) => node.data).join("").trim();
    if (text) check(element, text, rgba(element instanceof SVGElement ? style.fill : style.color));
    if (element.placeholder && !element.value) {
      check(element, element.placeholder, rgba(getComputedStyle(element, "::placeholder").color));
    }
  }
  return failures;
}"""


def unreadable(page: Page, root: str = "body") -> list[str]:
    """Every shown text (and placeholder) whose contrast with what is behind it is below
    WCAG AA: 4.5:1, or 3:1 for large text."""
    return list(page.evaluate(CONTRAST, root))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_all_text_is_readable_in_light_and_dark_mode(
    open_dashboard: OpenDashboard, shared_server: Server, scheme: str
) -> None:
    dashboard = open_dashboard(shared_server, viewport=WIDE, color_scheme=scheme)
    page = dashboard.page
    task = submit(dashboard)
    finished(dashboard, task)
    pools = {p["name"]: p for p in dashboard.api.get("/api/v1/workers").json()["worker_pools"]}
    drained = pools["ap-east-gpu-pool"]
    dashboard.api.post(f"/api/v1/workers/{drained['id']}/drain")
    try:
        tag = page.locator(f'#pools tr[data-pool="{drained["id"]}"] .tag')
        expect(tag).to_have_text("draining")
        audit = page.locator("#audit")
        audit.get_by_role("button", name="Verify the log").click()
        expect(audit.locator(".verdict")).to_be_visible()
        audit.get_by_label("What if").select_option("min_cost")
        audit.get_by_role("button", name="Replay").click()
        expect(audit.locator("table.comparison")).to_be_visible()
        expect(page.locator("#series-chart text.latency").first).to_be_visible()
        assert unreadable(page) == []
    finally:
        dashboard.api.post(f"/api/v1/workers/{drained['id']}/resume")

    page.locator(f'#tasks tbody tr[data-task="{task["id"]}"]').click()
    expect(page.locator("#task-dialog .states li[data-state=completed]")).to_have_count(1)
    assert unreadable(page, "#task-dialog") == []


# 4. Filters


def test_a_filter_shows_it_is_loading_at_once_and_only_the_last_choice_counts(
    wide: Dashboard,
) -> None:
    query = submit(wide, type="query")
    finished(wide, query)  # no more live refreshes for it
    page = wide.page
    expect(page.locator(f'#tasks tbody tr[data-task="{query["id"]}"]')).to_have_attribute(
        "data-status", "completed"
    )
    table = page.locator("#tasks table")
    loading = page.locator("#tasks").get_by_text("loading…")
    expect(loading).to_be_hidden()
    held: list[Route] = []
    holding = True

    def hold(route: Route) -> None:
        if holding:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/api/v1/tasks\?"), hold)
    filters = page.locator("#task-filters")

    def requested(kind: str) -> list[Route]:
        for _ in range(200):
            found = [r for r in held if f"type={kind}" in r.request.url]
            if found:
                return found
            page.wait_for_timeout(25)
        raise AssertionError(f"no request for type={kind}")

    filters.get_by_label("Type").select_option("order")
    expect(table).to_have_attribute("aria-busy", "true")  # while the answer is held back
    expect(loading).to_be_visible()
    first = requested("order")
    filters.get_by_label("Type").select_option("query")
    requested("query")
    expect(table).to_have_attribute("aria-busy", "true")

    holding = False
    for route in [r for r in held if "type=query" in r.request.url]:
        route.continue_()
    types = page.locator("#tasks tbody tr[data-task] td:nth-child(2)")
    expect(table).not_to_have_attribute("aria-busy", "true")
    expect(loading).to_be_hidden()
    expect(types.first).to_have_text("query")
    for route in first:  # the older choice's answer, if the page still waits for it
        with suppress(Error):  # it does not: it gave up on it
            route.continue_()
    page.wait_for_timeout(500)
    assert set(types.all_inner_texts()) == {"query"}, "the older choice's rows never show"
    expect(table).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#notice")).to_be_hidden()


# 6. The first load


def test_the_first_load_fetches_every_module_at_once_and_then_only_data(
    open_dashboard: OpenDashboard, shared_server: Server
) -> None:
    requested: list[str] = []

    def record(context: Any) -> None:
        context.on("request", lambda request: requested.append(request.url))

    dashboard = open_dashboard(shared_server, viewport=WIDE, prepare=record)
    page = dashboard.page
    paths = [re.sub(r"^https?://[^/]+", "", url) for url in requested]
    assert "/openapi.json" not in paths, "the page's choices come with the page"
    modules = {path for path in paths if path.startswith("/dashboard/js/")}
    preloaded = set(page.eval_on_selector_all('link[rel="modulepreload"]',
                                              "links => links.map(l => l.getAttribute('href'))"))  # fmt: skip
    assert modules <= preloaded, f"found only by importing: {modules - preloaded}"
    assert len(modules) >= 10
    task_types = page.locator("#task-form select[name=type] option").all_inner_texts()
    assert task_types == ["order", "simulation", "query"]
    algorithms = page.locator("#algorithm-form select option").all_inner_texts()
    assert algorithms == ["fifo", "priority", "min_cost"]
    assert page.locator("#pools tbody tr").count() >= 1


# 5. Small slips


def test_a_corrected_metadata_text_loses_its_complaint_as_it_is_typed(wide: Dashboard) -> None:
    form = wide.page.locator("#task-form")
    metadata = form.get_by_label("Metadata (JSON)")
    metadata.fill("{not json")
    form.get_by_role("button", name="Submit").click()
    complaint = form.locator("#task-form-metadata-error")
    expect(complaint).to_contain_text("not valid JSON")
    metadata.fill('{"still": "not json"')
    expect(complaint).to_contain_text("not valid JSON")
    expect(metadata).to_have_attribute("aria-invalid", "true")
    metadata.fill('{"now": "json"}')
    expect(complaint).to_have_count(0)
    expect(metadata).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator(".outcome")).to_have_text("")  # nothing was submitted


def test_task_ids_are_as_large_as_the_rest_of_their_row(wide: Dashboard) -> None:
    submit(wide)
    expect(wide.page.locator("#tasks tbody tr[data-task]").first).to_be_visible()
    # found and read in one synchronous step: the table redraws its rows as events arrive,
    # and a row located first may be detached (with no computed style) when it is read
    id_size, text_size = wide.page.evaluate(
        """() => {
            const row = document.querySelector("#tasks tbody tr[data-task]");
            return [row.querySelector("button"), row.querySelectorAll("td")[1]]
                .map(e => parseFloat(getComputedStyle(e).fontSize));
        }"""
    )
    assert id_size >= text_size >= 13, f"the id is {id_size} px, the row's text {text_size} px"


def test_buttons_line_up_with_the_choices_they_act_on(wide: Dashboard) -> None:
    page = wide.page
    algorithm = page.locator("#algorithm-form")
    switch = middle(algorithm.get_by_role("button", name="Switch"))
    assert switch == pytest.approx(middle(algorithm.get_by_label("Algorithm")), abs=2)
    audit = page.locator("#audit")
    replay = middle(audit.get_by_role("button", name="Replay"))
    assert replay == pytest.approx(middle(audit.get_by_label("What if")), abs=2)
    verify = middle(audit.get_by_role("button", name="Verify the log"))
    assert verify == pytest.approx(replay, abs=2)


# 11. PostgreSQL nodes: which one schedules


def test_a_single_server_names_no_node(wide: Dashboard) -> None:
    expect(wide.page.locator("#node")).to_be_hidden()


def test_the_header_names_the_node_and_the_node_that_schedules(
    open_dashboard: OpenDashboard, tmp_path: Path
) -> None:
    with fresh_database() as database:
        nodes = [
            Server(database, tmp_path / "first.log"),
            Server(database, tmp_path / "second.log", TASKROUTERX_DEMO_POOLS="false"),
        ]
        try:

            def health(node: Server) -> dict[str, Any]:
                return dict(node.client.get("/api/v1/health").json())

            def settled() -> tuple[Server, Server] | None:
                reports = [health(node) for node in nodes]
                leading = [n for n, r in zip(nodes, reports, strict=True) if r["leader"]]
                known = all(r["leader_node"] is not None for r in reports)
                if len(leading) != 1 or not known:
                    return None
                return leading[0], next(n for n in nodes if n is not leading[0])

            chief, standby = wait_until(settled, timeout=30)
            chief_name, standby_name = health(chief)["node"], health(standby)["node"]
            assert health(standby)["leader_node"] == chief_name
            on_chief = open_dashboard(chief, viewport=WIDE).page
            shown = on_chief.locator("#node")
            expect(shown).to_have_text(f"node {chief_name}: scheduling")
            expect(shown).to_have_attribute("data-role", "leader")
            on_standby = open_dashboard(standby, viewport=WIDE).page
            shown = on_standby.locator("#node")
            expect(shown).to_have_text(f"node {standby_name}: standby, {chief_name} schedules")
            expect(shown).to_have_attribute("data-role", "standby")
            for page in (on_chief, on_standby):  # before their servers go
                page.close()
        finally:
            for node in nodes:
                node.stop()


def test_the_header_says_where_the_hot_log_starts_once_events_are_archived(
    open_dashboard: OpenDashboard, tmp_path: Path
) -> None:
    # No demo pools: an empty log has nothing to archive until the tasks below, so the
    # badge is hidden at first however long the page takes to open.
    server = Server(tmp_path / "retained.db", tmp_path / "server.log",
                    TASKROUTERX_ARCHIVE_DIR=str(tmp_path / "archive"),
                    TASKROUTERX_ARCHIVE_AFTER="1s", TASKROUTERX_ARCHIVE_CHECK_S="0.2",
                    TASKROUTERX_DEMO_POOLS="false")  # fmt: skip
    try:
        page = open_dashboard(server, viewport=WIDE).page
        badge = page.locator("#log-start")
        expect(badge).to_be_hidden()
        for _ in range(5):
            server.client.post("/api/v1/tasks", json={"type": "order", "priority": 5,
                                                       "cost": 1, "region": "us-east"})  # fmt: skip
        log = wait_until(
            lambda: (found := server.client.get("/api/v1/health").json()["log"])["start"] and found,
            timeout=20,
        )
        expect(badge).to_be_visible(timeout=25_000)  # the header re-reads health every 10 s
        expect(badge).to_have_text(
            re.compile(r"^log from #\d+ · \d+ segments? archived \(\d+ kB\)$")
        )
        first = int(re.search(r"#(\d+)", badge.inner_text())[1])  # type: ignore[index]
        assert first >= log["first_position"]
        expect(badge).to_have_attribute("title", re.compile(r"^events 1\.\.\d+ are archived"))
        page.close()
    finally:
        server.stop()
