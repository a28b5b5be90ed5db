// System figures and the throughput/latency chart over the last ten minutes.

import { api } from "../api.js";
import { lineChart } from "../chart.js";
import { byId, h, number, replace, seconds } from "../dom.js";

const FIGURES = [
  ["tasks_completed", "completed", number],
  ["tasks_failed", "failed", number],
  ["tasks_pending", "pending", number],
  ["tasks_processing", "processing", number],
  ["tasks_delayed", "delayed", number],
  ["average_latency", "average latency", seconds],
  ["throughput", "throughput", (value) => `${number(value, 2)}/s`],
];

export async function refreshStats(app) {
  const [stats, series] = await Promise.all([
    api("/api/v1/system/stats"),
    api("/api/v1/system/series", { query: { window_s: 600, step_s: 10 } }),
  ]);
  replace(
    byId("figures"),
    FIGURES.map(([field, name, format]) =>
      h("div", { class: "figure", dataset: { field } }, h("dt", {}, name), h("dd", {}, format(stats[field]))),
    ),
  );
  app.showAlgorithm(stats.scheduler_stats.algorithm);
  const points = series.points;
  lineChart(
    byId("series-chart"),
    points.map((point) => new Date(point.at)),
    [
      { values: points.map((point) => point.throughput), axis: "left", class: "throughput" },
      { values: points.map((point) => point.mean_latency_s), axis: "right", class: "latency" },
    ],
  );
}
