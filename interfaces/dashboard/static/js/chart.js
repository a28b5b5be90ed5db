// Two small SVG charts drawn from data: lines over time with a left axis and, when a line
// uses it, a right one, and grouped bars. Sizes come from the viewBox, so the charts scale
// with their box. Their elements' classes are their own (chart-grid, chart-bar): the
// page's .grid and .bar rules would otherwise size them too.

import { number, replace, s } from "./dom.js";

const W = 640;
const H = 200;

// The drawing's width in its own units is the box's width in pixels, so text keeps its size.
function widthOf(svg) {
  return Math.max(320, Math.round(svg.getBoundingClientRect().width) || W);
}
const PAD = { left: 44, right: 48, top: 12, bottom: 24 };
const NO_AXIS = 12; // the right margin when no line uses the right axis

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

function label(value) {
  return value >= 100 ? number(value) : String(Number(value.toPrecision(3)));
}

// lines: [{values: [number|null], axis: "left"|"right", class: "...", name?}], times: [Date].
// An axis's figures take the colour of its line when it has only one; a line's name is
// its title (shown on hover).
export function lineChart(svg, times, lines) {
  const full = widthOf(svg);
  svg.setAttribute("viewBox", `0 0 ${full} ${H}`);
  const onRight = lines.some((l) => l.axis === "right");
  const width = full - PAD.left - (onRight ? PAD.right : NO_AXIS);
  const height = H - PAD.top - PAD.bottom;
  const max = {};
  const tickClass = {};
  for (const axis of ["left", "right"]) {
    const own = lines.filter((l) => l.axis === axis);
    max[axis] = niceMax(Math.max(0, ...own.flatMap((l) => l.values).filter((v) => v !== null)));
    tickClass[axis] = own.length === 1 ? `tick ${own[0].class}` : "tick";
  }
  const x = (index) => PAD.left + (times.length > 1 ? (index / (times.length - 1)) * width : 0);
  const y = (value, axis) => PAD.top + height - (value / max[axis]) * height;
  const parts = [];
  for (let tick = 0; tick <= 4; tick += 1) {
    const at = PAD.top + (tick / 4) * height;
    parts.push(s("line", { class: "chart-grid", x1: PAD.left, x2: PAD.left + width, y1: at, y2: at }));
    const fraction = 1 - tick / 4;
    parts.push(s("text", { class: tickClass.left, x: PAD.left - 6, y: at + 4, "text-anchor": "end" }, label(max.left * fraction)));
    if (onRight) parts.push(s("text", { class: tickClass.right, x: PAD.left + width + 6, y: at + 4 }, label(max.right * fraction)));
  }
  // a label on each whole interval of 1, 2, 5, 10 ... minutes, at most seven of them
  const span = (times.at(-1) - times[0]) / 60000;
  const minutes = [1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440].find((m) => span / m <= 6) || 1440;
  times.forEach((time, index) => {
    if (time.getSeconds() === 0 && (time.getHours() * 60 + time.getMinutes()) % minutes === 0) {
      parts.push(s("text", { class: "tick", x: x(index), y: H - 6, "text-anchor": "middle" },
        time.toLocaleTimeString("en-GB", { hour12: false, hour: "2-digit", minute: "2-digit" })));
    }
  });
  for (const line of lines) {
    let path = "";
    let pen = false;
    line.values.forEach((value, index) => {
      if (value === null) {
        pen = false;
        return;
      }
      const [px, py] = [x(index).toFixed(1), y(value, line.axis).toFixed(1)];
      const alone = !pen && (line.values[index + 1] ?? null) === null;
      if (alone) parts.push(s("circle", { class: `dot ${line.class}`, cx: px, cy: py, r: 2.5 }));
      path += `${pen ? "L" : "M"}${px},${py}`;
      pen = true;
    });
    parts.push(s("path", { class: `line ${line.class}`, d: path || "M0,0" }, line.name ? s("title", {}, line.name) : null));
  }
  replace(svg, ...parts);
}

// groups: [{label, values: [number]}], series: [{name, class}]; values are percentages.
export function barChart(svg, groups, series) {
  const rowHeight = 14 * series.length + 10;
  const height = groups.length * rowHeight + 24;
  const labelWidth = 150;
  const full = widthOf(svg);
  const width = full - labelWidth - 50;
  svg.setAttribute("viewBox", `0 0 ${full} ${height}`);
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values)));
  const parts = [];
  groups.forEach((group, row) => {
    const top = row * rowHeight + 4;
    parts.push(s("text", { class: "tick", x: labelWidth - 8, y: top + rowHeight / 2, "text-anchor": "end" }, group.label));
    group.values.forEach((value, index) => {
      const barWidth = (value / max) * width;
      const y = top + index * 14;
      parts.push(s("rect", { class: `chart-bar ${series[index].class}`, x: labelWidth, y, width: Math.max(0.5, barWidth), height: 12 },
        s("title", {}, `${group.label} ${series[index].name}: ${number(value, 2)} %`)));
      parts.push(s("text", { class: "tick", x: labelWidth + barWidth + 4, y: y + 10 }, `${number(value, 1)} %`));
    });
  });
  parts.push(s("text", { class: "tick", x: labelWidth, y: height - 4 }, `0 – ${number(max)} % busy`));
  replace(svg, ...parts);
}
