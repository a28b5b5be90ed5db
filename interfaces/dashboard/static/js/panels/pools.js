// Worker pools: load against capacity, and the operator's levers on each (capacity, drain).

import { api } from "../api.js";
import { byId, h, keepingFocus, labelCells, number, replace, showError } from "../dom.js";

export async function refreshPools(app) {
  const { worker_pools: pools } = await api("/api/v1/workers");
  app.setPools(pools);
  const body = byId("pools").querySelector("tbody");
  keepingFocus(body, () => {
    const rows = pools.map((pool) => {
      const fresh = row(app, pool);
      // a capacity being edited (focused, or typed and not yet set) outlives the refresh
      const editing = body.querySelector(`tr[data-pool="${pool.id}"] form.inline`);
      const input = editing?.elements.capacity;
      if (editing && (editing.contains(document.activeElement) || input.value !== input.dataset.server)) {
        fresh.querySelector("form.inline").replaceWith(editing);
      }
      return fresh;
    });
    replace(body, rows);
    labelCells(body);
  });
}

function row(app, pool) {
  const share = pool.capacity ? Math.min(1, pool.current_load / pool.capacity) : 0;
  const fill = h("span", { class: `fill${share >= 0.9 ? " hot" : ""}` });
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  const capacity = h("input", { type: "number", name: "capacity", value: pool.capacity, "aria-label": `capacity of ${pool.name}`,
    inputmode: "numeric", dataset: { server: pool.capacity, focus: `capacity-${pool.id}` } });
  const save = h("form", { class: "inline", onsubmit: (event) => resize(event, app, pool, capacity) },
    capacity, h("button", { type: "submit", class: "quiet", "aria-label": `Set ${pool.name} capacity`,
      dataset: { focus: `set-${pool.id}` } }, "Set"));
  const action = pool.draining ? "resume" : "drain";
  const drain = h("button", { type: "button", class: "quiet", "aria-label": `${action} ${pool.name}`,
    dataset: { focus: `lever-${pool.id}` }, onclick: () => lever(app, pool, action) }, pool.draining ? "Resume" : "Drain");
  return h("tr", { dataset: { pool: pool.id }, class: pool.draining ? "draining" : null },
    h("th", { scope: "row", class: "whole" }, pool.name, pool.draining ? h("span", { class: "tag" }, "draining") : null),
    h("td", {}, pool.region),
    h("td", {}, pool.resource_type.toUpperCase()),
    h("td", {}, pool.execution),
    h("td", { class: "num" }, number(pool.cost_per_unit, 2)),
    h("td", { class: "bar-cell span2" },
      h("span", { class: "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": pool.capacity, "aria-valuenow": pool.current_load, "aria-label": `${pool.name} load` }, fill),
      h("span", { class: "load" }, `${number(pool.current_load)} / ${number(pool.capacity)}`)),
    h("td", { class: "span2" }, save),
    h("td", {}, drain));
}

async function resize(event, app, pool, input) {
  event.preventDefault();
  const error = byId("pools").querySelector(".form-error");
  const value = input.value.trim();
  try {
    await api(`/api/v1/workers/${pool.id}`, { method: "PATCH", body: { capacity: value === "" ? "" : Number(value) } });
    showError(error, "");
    input.dataset.server = input.value; // set: no longer an edit to keep
  } catch (failure) {
    showError(error, `${pool.name}: ${failure.message}`);
  }
  await app.refresh.pools();
}

async function lever(app, pool, action) {
  const error = byId("pools").querySelector(".form-error");
  try {
    await api(`/api/v1/workers/${pool.id}/${action}`, { method: "POST" });
    showError(error, "");
  } catch (failure) {
    showError(error, `${pool.name}: ${failure.message}`);
  }
  await app.refresh.pools();
}
