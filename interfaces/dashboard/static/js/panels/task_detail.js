// One task's story: where it is, how long it spent in each state, every event on its stream,
// and each scheduling decision with the candidates table (why each pool was filtered out,
// or where it ranked and by what) and, when tenants competed, the tenant stage (whose task
// went next, and why the others waited).

import { api } from "../api.js";
import { byId, clock, h, number, replace, seconds, showError } from "../dom.js";
import { limits } from "./tenants.js";

let shown = null;

export function shownTask() {
  return shown;
}

export function setUpTaskDialog() {
  const dialog = byId("task-dialog");
  byId("task-dialog-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const closed = shown;
    shown = null;
    // the row that opened it may have been redrawn since, and the browser's return of the
    // focus then finds nothing: the focus is left on the body, or still on a control of
    // the closed dialog until the browser's next rendering moves it to the body. Either
    // way, give it to the row drawn in the opener's place, and if the list is being
    // redrawn just then, to the row once it is back (for up to two seconds, while the
    // focus has gone nowhere else).
    const giveBack = (tries) => {
      const active = document.activeElement;
      if (active && active !== document.body && !dialog.contains(active)) return;
      const row = document.querySelector(`[data-focus="task-${closed}"]`);
      if (row) row.focus();
      else if (tries > 0) setTimeout(() => giveBack(tries - 1), 100);
    };
    setTimeout(() => giveBack(20), 0);
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
}

export async function openTask(app, taskId) {
  shown = taskId;
  const dialog = byId("task-dialog");
  byId("task-dialog-title").textContent = `Task ${taskId}`;
  if (!dialog.open) {
    replace(byId("task-detail"), h("p", { class: "hint" }, "loading…"));
    dialog.showModal();
  }
  try {
    await refreshTask(app);
  } catch (error) {
    replace(byId("task-detail"), h("p", { class: "form-error", role: "alert" }, error.message));
  }
}

export async function refreshTask(app) {
  const taskId = shown;
  if (!taskId) return;
  const [task, timeline, decisions] = await Promise.all([
    api(`/api/v1/tasks/${taskId}`),
    api(`/api/v1/tasks/${taskId}/timeline`),
    api(`/api/v1/tasks/${taskId}/decisions`),
  ]);
  if (shown !== taskId) return;
  replace(byId("task-detail"),
    summary(app, task),
    stateBar(timeline),
    h("h3", {}, "Decisions"),
    decisions.decisions.length ? decisions.decisions.map(decision) : h("p", { class: "hint" }, "not scheduled yet"),
    h("h3", {}, "Events"),
    eventsTable(timeline.events));
}

function summary(app, task) {
  const facts = [
    ["status", h("span", { class: `status ${task.status}` }, task.status)],
    ["type", task.type],
    ["priority", task.priority],
    ["cost", number(task.cost, 2)],
    ["region", task.region],
    ["resource", task.resource_type || "any"],
    ["pool", task.worker_id || "–"],
    ["attempt", `${task.attempt} of ${task.max_attempts}`],
    ["submitted", clock(task.enqueued_at)],
  ];
  if (task.error) facts.push(["error", task.error]);
  if (task.lease) facts.push(["held by", task.lease.worker_id]);
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const act = (action) => async () => {
    try {
      await api(`/api/v1/tasks/${task.id}/${action}`, { method: "POST", body: action === "cancel" ? { reason: "cancelled from the dashboard" } : undefined });
      await refreshTask(app);
    } catch (failure) {
      showError(error, failure.message);
    }
  };
  const actions = [];
  if (["queued", "delayed", "processing"].includes(task.status) && !task.cancel_requested) {
    actions.push(h("button", { type: "button", class: "quiet", onclick: act("cancel") }, "Cancel"));
  }
  if (task.status === "failed") {
    actions.push(h("button", { type: "button", class: "quiet", onclick: act("retry") }, "Retry"));
  }
  return h("div", { class: "task-summary" },
    h("dl", { class: "facts" }, facts.map(([name, value]) => h("div", {}, h("dt", {}, name), h("dd", {}, value)))),
    Object.keys(task.task_metadata || {}).length ? h("pre", { class: "json" }, JSON.stringify(task.task_metadata, null, 2)) : null,
    actions.length ? h("div", { class: "row" }, actions) : null,
    error);
}

function stateBar(timeline) {
  const states = timeline.states;
  const total = states.reduce((sum, state) => sum + (state.seconds || 0), 0);
  const bar = h("div", { class: "state-bar", "aria-hidden": "true" });
  for (const state of states) {
    if (!state.seconds) continue;
    const part = h("span", { class: `status-fill ${state.state}`, title: `${state.state}: ${seconds(state.seconds)}` });
    part.style.flexGrow = String(state.seconds / (total || 1));
    bar.append(part);
  }
  return h("div", { class: "timeline" },
    h("h3", {}, `Timeline · ${seconds(timeline.total_seconds)} in all`),
    total ? bar : null,
    h("ol", { class: "states" }, states.map((state) =>
      h("li", { dataset: { state: state.state } },
        h("span", { class: `status ${state.state}` }, state.state),
        ` at ${clock(state.entered_at)}`,
        state.seconds !== null ? ` for ${seconds(state.seconds)}` : " (now)",
        state.attempt ? ` · attempt ${state.attempt}` : ""))));
}

function decision(record) {
  const rankedBy = record.ranked_by || [];
  const rows = [...record.candidates].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.registration - b.registration);
  return h("article", { class: `decision ${record.outcome}` },
    h("p", { class: "decision-summary" },
      h("span", { class: `tag ${record.outcome}` }, record.outcome),
      ` ${record.summary}`),
    h("p", { class: "hint" },
      `${record.algorithm} v${record.algorithm_version} at ${clock(record.recorded_at)} · `
      + `${record.pools_seen} pools seen, ${record.pools_ranked} ranked`
      + (rankedBy.length ? ` by ${rankedBy.join(", ")}` : "")),
    record.tenant_stage ? tenantStage(record.tenant_stage) : null,
    h("div", { class: "scroll" },
      h("table", { class: "candidates" },
        h("thead", {}, h("tr", {}, ["Rank", "Pool", "Region", "Type", "Cost/unit", "Load", "Verdict"].map((name) => h("th", {}, name)))),
        h("tbody", {}, rows.map((candidate) =>
          h("tr", { class: candidate.chosen ? "chosen" : candidate.filtered_out ? "filtered" : "ranked" },
            h("td", { class: "num" }, candidate.rank ?? "–"),
            h("th", { scope: "row" }, candidate.name),
            h("td", {}, candidate.region),
            h("td", {}, candidate.resource_type.toUpperCase()),
            h("td", { class: "num" }, number(candidate.cost_per_unit, 2)),
            h("td", { class: "num" }, `${candidate.load} / ${candidate.capacity}`),
            h("td", {}, verdict(candidate, rankedBy))))))));
}

// Fair share's choice, made before the pools': every competing tenant's figures, and why
// each one not chosen waited (the API's `why`, made again from the stage's figures).
function tenantStage(stage) {
  return h("div", { class: "tenant-stage" },
    h("p", { class: "stage-summary" }, h("strong", {}, "Tenants: "), stage.summary),
    h("p", { class: "hint" }, `capacity ${limits(stage.capacity, "none")} · share: a tenant's largest part of a resource's capacity, over its weight`),
    h("div", { class: "scroll" },
      h("table", { class: "stage" },
        h("thead", {}, h("tr", {}, ["Tenant", "Weight", "Running", "Quota", "Share", "Verdict"].map((name) => h("th", {}, name)))),
        h("tbody", {}, stage.tenants.map((tenant) =>
          h("tr", { class: tenant.name === stage.chosen ? "chosen" : "waiting", dataset: { tenant: tenant.name } },
            h("th", { scope: "row" }, tenant.name),
            h("td", { class: "num" }, number(tenant.weight, tenant.weight % 1 ? 2 : 0)),
            h("td", {}, limits(tenant.running, "0")),
            h("td", {}, limits(tenant.quota, "none")),
            h("td", { class: "num" }, number(tenant.share, 3)),
            h("td", {}, tenant.name === stage.chosen ? "chosen" : tenant.why || tenant.verdict || "waits")))))));
}

function verdict(candidate, rankedBy) {
  if (candidate.filtered_out) return `filtered out: ${candidate.filtered_out}`;
  const key = (candidate.rank_key || []).map((value, index) => `${rankedBy[index] || "key"} ${formatKey(value)}`).join(", ");
  return `${candidate.chosen ? "chosen" : "ranked"}${key ? ` (${key})` : ""}`;
}

function formatKey(value) {
  return typeof value === "number" && !Number.isInteger(value) ? number(value, 3) : String(value);
}

function eventsTable(events) {
  return h("div", { class: "scroll" },
    h("table", { class: "events" },
      h("thead", {}, h("tr", {}, ["#", "Event", "By", "At"].map((name) => h("th", {}, name)))),
      h("tbody", {}, events.map((event) =>
        h("tr", {}, h("td", { class: "num" }, event.position), h("td", {}, event.type), h("td", {}, event.actor), h("td", {}, clock(event.at)))))));
}
