// Recent tasks, newest first, filtered by status, region and type, a page at a time; a row
// opens the task's story.

import { api } from "../api.js";
import { byId, clock, h, keepingFocus, number, replace, shortId } from "../dom.js";
import { openTask } from "./task_detail.js";

const PAGE_SIZE = 15;
let page = 1;

export function setUpTasks(app) {
  const filters = byId("task-filters");
  filters.addEventListener("change", () => {
    page = 1;
    app.refresh.tasks();
  });
  byId("tasks").querySelector(".pager").addEventListener("click", (event) => {
    const step = Number(event.target.dataset.step || 0);
    if (!step) return;
    page = Math.max(1, page + step);
    app.refresh.tasks();
  });
}

export async function refreshTasks(app) {
  const filters = Object.fromEntries(new FormData(byId("task-filters")));
  const result = await api("/api/v1/tasks", { query: { ...filters, page, page_size: PAGE_SIZE } });
  const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
  if (page > pages) {
    page = pages;
    return refreshTasks(app);
  }
  const body = byId("tasks").querySelector("tbody");
  keepingFocus(body, () => replace(body, result.tasks.length ? result.tasks.map((task) => row(app, task))
    : h("tr", {}, h("td", { colspan: 7, class: "empty" }, "no tasks match"))));
  const pager = byId("tasks").querySelector(".pager");
  pager.querySelector(".page-info").textContent = `page ${page} of ${pages} · ${number(result.total)} tasks`;
  pager.querySelector('[data-step="-1"]').disabled = page <= 1;
  pager.querySelector('[data-step="1"]').disabled = page >= pages;
}

// The whole row opens the task on a click; its id is the button a keyboard reaches.
function row(app, task) {
  const open = () => openTask(app, task.id);
  return h("tr", { class: "clickable", dataset: { task: task.id, status: task.status }, onclick: open },
  h("td", { class: "mono" }, h("button", { type: "button", class: "link mono", "aria-label": `open task ${task.id}`,
    dataset: { focus: `task-${task.id}` } }, shortId(task.id))),
  h("td", {}, task.type),
  h("td", { class: "num" }, task.priority),
  h("td", {}, task.region),
  h("td", {}, h("span", { class: `status ${task.status}` }, task.status)),
  h("td", {}, task.worker_id || "–"),
  h("td", {}, clock(task.enqueued_at)));
}
