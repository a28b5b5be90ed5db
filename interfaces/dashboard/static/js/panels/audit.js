// The audit panel: the log's verification (every recorded decision recomputed, the
// domain's invariants checked along a fold from the start, the hash chain walked), which
// the server keeps up to date as events arrive and can redo from the start on request, and
// a replay of the recorded traffic under another algorithm (and other tenant weights) to
// compare. Shown once its controls are wired.

import { api } from "../api.js";
import { barChart } from "../chart.js";
import { byId, h, number, options, replace, s, seconds, showError } from "../dom.js";

export function setUpAudit(app) {
  const panel = byId("audit");
  panel.hidden = false;
  const error = panel.querySelector(".form-error");
  const verifyButton = byId("verify-button");
  const reverifyButton = byId("reverify-button");
  verifyButton.addEventListener("click", async () => {
    verifyButton.disabled = true;
    try {
      showVerdict(await api("/api/v1/audit/verify"));
      showError(error, "");
    } catch (failure) {
      replace(byId("verify-result"));
      showError(error, failure.message);
    } finally {
      verifyButton.disabled = false;
    }
  });
  reverifyButton.addEventListener("click", async () => {
    reverifyButton.disabled = true;
    try {
      let job = await api("/api/v1/audit/verify", { method: "POST" });
      while (job.status === "running") {
        const share = job.total ? ` ${Math.floor((100 * job.done) / job.total)}%` : "";
        replace(byId("verify-result"), h("p", { class: "hint" }, `verifying from the start: ${job.phase}${share}…`));
        await new Promise((resolve) => setTimeout(resolve, 300));
        job = await api(`/api/v1/audit/verify/jobs/${job.id}`);
      }
      if (job.status === "failed") throw new Error(job.error);
      showVerdict(job.report);
      showError(error, "");
    } catch (failure) {
      replace(byId("verify-result"));
      showError(error, failure.message);
    } finally {
      reverifyButton.disabled = false;
    }
  });
  const form = byId("whatif-form");
  options(form.elements.algorithm, app.choices.algorithms);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { weights, problem } = parseWeights(form.elements.weights.value);
    form.elements.weights.setAttribute("aria-invalid", String(Boolean(problem)));
    if (problem) {
      replace(byId("whatif-result"));
      showError(error, problem);
      return;
    }
    const body = { algorithm: form.elements.algorithm.value };
    if (weights.length) body.tenants = Object.fromEntries(weights.map(([name, weight]) => [name, { weight }]));
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      showComparison(await api("/api/v1/replays", { method: "POST", body }), weights);
      showError(error, "");
    } catch (failure) {
      replace(byId("whatif-result"));
      showError(error, failure.message);
    } finally {
      button.disabled = false;
    }
  });
}

// "team-a=2, team-b=1" as {weights: [["team-a", 2], ["team-b", 1]]}, or {problem} for the
// first entry that is not name=number. Only the syntax is checked here: the API judges the
// names and values.
function parseWeights(text) {
  const weights = [];
  for (const entry of text.split(",").map((part) => part.trim()).filter(Boolean)) {
    const [, name, value] = entry.match(/^([^\s=]+)\s*=\s*(\S+)$/) || [];
    if (!name || !Number.isFinite(Number(value))) {
      return { problem: `weights: "${entry}" is not tenant=weight (as in team-a=2, team-b=1)` };
    }
    if (weights.some(([seen]) => seen === name)) return { problem: `weights: ${name} is given twice` };
    weights.push([name, Number(value)]);
  }
  return { weights };
}

function showVerdict(report) {
  const findings = [...report.corrupt, ...report.mismatches, ...report.violations];
  const chain = report.chain;
  replace(byId("verify-result"),
    h("p", { class: `verdict ${report.ok ? "ok" : "bad"}` },
      report.ok ? "✓ the log verifies" : "✗ the log does not verify",
      ` · ${number(report.events_checked)} events, ${number(report.decisions_checked)} decisions` +
      ` and ${number(report.preemptions_checked ?? 0)} preemptions recomputed`
      + ` · ${number(report.mismatch_count)} mismatches, ${number(report.violation_count)} violations`
      + (report.corrupt_count ? `, ${number(report.corrupt_count)} unreadable events` : "")
      + ` · chain ${chain.first_broken === null ? "intact" : `broken at #${chain.first_broken}`}`),
    h("p", { class: "hint mono" },
      `verified through #${report.head}`
      + (report.log_head !== undefined ? ` (the log's head: #${report.log_head})` : " (from the start)")
      + ` · hash ${chain.head_hash}`),
    chain.problem ? h("p", { class: "form-error" }, chain.problem) : null,
    findings.length ? h("ul", { class: "findings" }, findings.map((finding) =>
      h("li", {}, `#${finding.position} ${finding.stream_id}: ${finding.detail}`))) : null);
}

const ROWS = [
  ["total cost", (m) => m.total_cost, (v) => number(v, 2)],
  ["outside preferred region", (m) => m.cross_region, (v) => number(v)],
  ["mean wait", (m) => m.mean_wait_s, seconds],
  ["p95 wait", (m) => m.p95_wait_s, seconds],
  ["mean wait, priority 7-10", (m) => m.mean_wait_by_priority_band_s.high, seconds],
  ["mean wait, priority 4-6", (m) => m.mean_wait_by_priority_band_s.medium, seconds],
  ["mean wait, priority 1-3", (m) => m.mean_wait_by_priority_band_s.low, seconds],
];

function showComparison(result, weights) {
  const actual = result.actual;
  const whatIf = result.what_if;
  const chart = s("svg", { class: "bars", role: "img", "aria-label": "pool utilization, recorded and replayed" });
  const pools = Object.keys(actual.pool_utilization_pct);
  replace(byId("whatif-result"),
    h("p", {}, `${number(result.tasks)} tasks replayed under ${result.algorithm} `
      + `(recorded with ${result.algorithms_used.join(", ") || "none"}); `
      + `${number(result.placements_changed)} would go elsewhere, ${number(result.not_replayed)} not replayed, `
      + `${number(result.still_waiting)} still waiting at the end`),
    h("div", { class: "scroll" },
      h("table", { class: "comparison" },
        h("thead", {}, h("tr", {}, h("th", {}, "Measure"), h("th", {}, "Recorded"), h("th", {}, `What if ${result.algorithm}`), h("th", {}, "Change"))),
        h("tbody", {}, ROWS.map(([name, pick, format]) => {
          const before = pick(actual);
          const after = pick(whatIf);
          const change = after - before;
          return h("tr", {}, h("th", { scope: "row" }, name), h("td", { class: "num" }, format(before)),
            h("td", { class: "num" }, format(after)),
            h("td", { class: `num ${change < 0 ? "better" : change > 0 ? "worse" : ""}` },
              change === 0 ? "=" : `${change > 0 ? "+" : "−"}${format(Math.abs(change))}`));
        })))),
    h("figure", { class: "chart" }, chart,
      h("figcaption", {}, h("span", { class: "key recorded" }, "recorded"), " ", h("span", { class: "key whatif" }, `what if ${result.algorithm}`), " · pool utilization")),
    tenantComparison(result.tenants, weights));
  barChart(chart, pools.map((pool) => ({ label: pool, values: [actual.pool_utilization_pct[pool], whatIf.pool_utilization_pct[pool] ?? 0] })),
    [{ name: "recorded", class: "recorded" }, { name: `what if ${result.algorithm}`, class: "whatif" }]);
}

const TENANT_FIGURES = [["Mean wait", "mean_wait_s", seconds], ["p95 wait", "p95_wait_s", seconds], ["Preemptions", "preemptions", number]];

// Per tenant, when there is more than one or weights were given: each figure recorded and
// replayed side by side.
function tenantComparison(tenants, weights) {
  const names = [...new Set([...Object.keys(tenants.actual), ...Object.keys(tenants.what_if)])].sort();
  if (names.length < 2 && !weights.length) return null;
  const given = weights.map(([name, weight]) => `${name}=${number(weight, weight % 1 ? 2 : 0)}`).join(", ");
  return h("div", { class: "scroll" },
    h("table", { class: "tenant-comparison" },
      h("caption", {}, `Per tenant${given ? `, with weights ${given}` : ""}`),
      h("thead", {}, h("tr", {}, h("th", {}, "Tenant"), TENANT_FIGURES.flatMap(([name]) =>
        [h("th", {}, `${name}, recorded`), h("th", {}, `${name}, what if`)]))),
      h("tbody", {}, names.map((name) => h("tr", { dataset: { tenant: name } },
        h("th", { scope: "row" }, name),
        TENANT_FIGURES.flatMap(([, field, format]) => [tenants.actual[name], tenants.what_if[name]]
          .map((figures) => h("td", { class: "num" }, figures ? format(figures[field]) : "–"))))))));
}
