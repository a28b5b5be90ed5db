// Recent tasks, newest first, filtered by status, region, type and tenant, a page at a time; a row
// opens the task's story. Only the latest request's answer is shown: a newer one (a changed
// filter, another page, a live refresh) aborts the one still on its way.

import { api } from "../api.js";
import { byId, clock, h, keepingFocus, labelCells, notify, number, replace, shortId } from "../dom.js";
import { openTask } from "./task_detail.js";

const PAGE_SIZE = 15;
let page = 1;
let pending = null; // the AbortController of the request whose answer will be shown

export function setUpTasks(app) {
  const filters = byId("task-filters");
  filters.addEventListener("change", () => {
    page = 1;
    reload(app);
  });
  byId("tasks").querySelector(".pager").addEventListener("click", (event) => {
    const step = Number(event.target.dataset.step || 0);
    if (!step) return;
    page = Math.max(1, page + step);
    reload(app);
  });
}

// The operator's own change: shown as loading at once, and asked for at once (not after
// the live refresh's wait), the old rows dimmed until the new ones come.
function reload(app) {
  showBusy(true);
  refreshTasks(app).then(() => notify("tasks", ""), (error) => notify("tasks", error.message));
}

function showBusy(busy) {
  const panel = byId("tasks");
  const table = panel.querySelector("table");
  if (busy) table.setAttribute("aria-busy", "true");
  else table.removeAttribute("aria-busy");
  panel.querySelector(".loading").hidden = !busy;
}

export async function refreshTasks(app) {
  pending?.abort();
  const request = new AbortController();
  pending = request;
  try {
    await load(app, request.signal);
  } catch (error) {
    if (!request.signal.aborted) throw error; // aborted: a newer request took its place
  } finally {
    if (pending === request) {
      pending = null;
      showBusy(false);
    }
  }
}

async function load(app, signal) {
  const filters = Object.fromEntries(new FormData(byId("task-filters")));
  const ask = () => api("/api/v1/tasks", { query: { ...filters, page, page_size: PAGE_SIZE }, signal });
  let result = await ask();
  let pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  if (page > pages) {
    page = pages;
    result = await ask();
    pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  }
  if (signal.aborted) return;
  const body = byId("tasks").querySelector("tbody");
  keepingFocus(body, () => {
    replace(body, result.tasks.length ? result.tasks.map((task) => row(app, task))
      : h("tr", {}, h("td", { colspan: 8, class: "empty whole" }, "no tasks match")));
    labelCells(body);
  });
  const pager = byId("tasks").querySelector(".pager");
  pager.querySelector(".page-info").textContent = `page ${page} of ${pages} · ${number(result.total)} tasks`;
  pager.querySelector('[data-step="-1"]').disabled = page <= 1;
  pager.querySelector('[data-step="1"]').disabled = page >= pages;
}

// The whole row opens the task on a click; its id is the button a keyboard reaches.
function row(app, task) {
  const open = () => openTask(app, task.id);
  return h("tr", { class: "clickable", dataset: { task: task.id, status: task.status }, onclick: open },
  h("td", {}, h("button", { type: "button", class: "link mono task-id", "aria-label": `open task ${task.id}`,
    dataset: { focus: `task-${task.id}` } }, shortId(task.id))),
  h("td", {}, task.type),
  h("td", { class: "num" }, task.priority),
  h("td", {}, task.region),
  h("td", {}, h("span", { class: `status ${task.status}` }, task.status)),
  h("td", { class: "span2" }, task.worker_id || "–"),
  h("td", {}, clock(task.enqueued_at)),
  h("td", {}, task.tenant));
}
