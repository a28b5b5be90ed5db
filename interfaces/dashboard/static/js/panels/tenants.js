// Tenants: each one's weight, quota and borrowing, its tasks waiting, running and preempted,
// and each one's share of the slots over the last ten minutes; the tenant choices of the
// task filter and of the submission form follow the list.

import { api } from "../api.js";
import { lineChart } from "../chart.js";
import { byId, h, keepingFocus, labelCells, number, replace } from "../dom.js";

// the tenant line colours in dashboard.css (tenant-0 ... tenant-5), cycled past the last
const COLOURS = 6;

export async function refreshTenants(app) {
  const [{ tenants }, series] = await Promise.all([
    api("/api/v1/tenants"),
    api("/api/v1/system/tenant-series", { query: { window_s: 600, step_s: 10 } }),
  ]);
  app.setTenants(tenants.map((tenant) => tenant.name));
  const body = byId("tenants").querySelector("tbody");
  keepingFocus(body, () => {
    replace(body, tenants.map(row));
    labelCells(body);
  });
  showShares(series, tenants.map((tenant) => tenant.name));
}

// "4 cpu · 1 gpu", "none" without a limit on either (borrowing: "unlimited" for null).
export function limits(values, none) {
  const parts = ["cpu", "gpu"].filter((kind) => values[kind] !== null && values[kind] !== 0)
    .map((kind) => `${number(values[kind])} ${kind}`);
  const open = ["cpu", "gpu"].filter((kind) => values[kind] === null);
  if (none === "unlimited" && open.length) parts.push(...open.map((kind) => `any ${kind}`));
  return parts.length ? parts.join(" · ") : none;
}

function row(tenant) {
  return h("tr", { dataset: { tenant: tenant.name } },
    h("th", { scope: "row", class: "whole" }, tenant.name),
    h("td", { class: "num" }, number(tenant.weight, tenant.weight % 1 ? 2 : 0)),
    h("td", {}, limits(tenant.quota, "none")),
    h("td", {}, limits(tenant.borrowing, "none")),
    h("td", { class: "num", dataset: { field: "queued" } }, number(tenant.queued)),
    h("td", { class: "num", dataset: { field: "delayed" } }, number(tenant.delayed)),
    h("td", { class: "num", dataset: { field: "processing" } }, number(tenant.processing)),
    h("td", { class: "num", dataset: { field: "preempted" } }, number(tenant.preempted)));
}

// A line per tenant with tasks running in the window, coloured by its place in the list
// (so a tenant keeps its colour as others come and go), and a legend naming each.
function showShares(series, names) {
  const lines = Object.entries(series.tenants).map(([name, line]) => {
    const place = names.indexOf(name) < 0 ? names.length : names.indexOf(name);
    return { name, values: line.share_pct, axis: "left", class: `tenant tenant-${place % COLOURS}` };
  });
  lineChart(byId("tenant-chart"), series.at.map((at) => new Date(at)), lines);
  replace(byId("tenant-legend"),
    lines.length
      ? lines.flatMap((line) => [h("span", { class: `key ${line.class}`, dataset: { tenant: line.name } }, line.name), " "])
      : "no tenant had tasks running at the end of a step ",
    `· share of the ${number(series.slots)} slots taking tasks (%), last 10 minutes, 10 s steps`);
}
