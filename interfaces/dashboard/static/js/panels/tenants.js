// Tenants: each one's weight, quota and borrowing, and its tasks waiting and running; the
// tenant choices of the task filter and of the submission form follow the list.

import { api } from "../api.js";
import { byId, h, keepingFocus, labelCells, number, replace } from "../dom.js";

export async function refreshTenants(app) {
  const { tenants } = await api("/api/v1/tenants");
  app.setTenants(tenants.map((tenant) => tenant.name));
  const body = byId("tenants").querySelector("tbody");
  keepingFocus(body, () => {
    replace(body, tenants.map(row));
    labelCells(body);
  });
}

// "4 cpu · 1 gpu", "none" without a limit on either (borrowing: "unlimited" for null).
function limits(values, none) {
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
    h("td", { class: "num", dataset: { field: "processing" } }, number(tenant.processing)));
}
