// The audit panel: the log's verification (every recorded decision recomputed, the
// domain's invariants checked along a fold from the start, the hash chain walked), which
// the server keeps up to date as events arrive and can redo from the start on request, and
// a replay of the recorded traffic under another algorithm to compare. Shown once its
// controls are wired.

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
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      showComparison(await api("/api/v1/replays", { method: "POST", body: { algorithm: form.elements.algorithm.value } }));
      showError(error, "");
    } catch (failure) {
      showError(error, failure.message);
    } finally {
      button.disabled = false;
    }
  });
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

function showComparison(result) {
  const actual = result.actual;
  const whatIf = result.what_if;
  const chart = s("svg", { class: "bars", role: "img", "aria-label": "pool utilization, recorded and replayed" });
  const pools = Object.keys(actual.pool_utilization_pct);
  replace(byId("whatif-result"),
    h("p", {}, `${number(result.tasks)} tasks replayed under ${result.algorithm} `
      + `(recorded with ${result.algorithms_used.join(", ") || "none"}); `
      + `${number(result.placements_changed)} would go elsewhere, ${number(result.not_replayed)} not replayed`),
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
      h("figcaption", {}, h("span", { class: "key recorded" }, "recorded"), " ", h("span", { class: "key whatif" }, `what if ${result.algorithm}`), " · pool utilization")));
  barChart(chart, pools.map((pool) => ({ label: pool, values: [actual.pool_utilization_pct[pool], whatIf.pool_utilization_pct[pool] ?? 0] })),
    [{ name: "recorded", class: "recorded" }, { name: `what if ${result.algorithm}`, class: "whatif" }]);
}
