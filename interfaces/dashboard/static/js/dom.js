// Small helpers for building the page: elements from data (never from HTML strings, so no
// value from the API is ever parsed as markup) and the formats every panel shares.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function byId(id) {
  return document.getElementById(id);
}

export function options(select, values, { keep = 0, selected } = {}) {
  while (select.options.length > keep) select.remove(keep);
  for (const value of values) {
    const [key, label] = Array.isArray(value) ? value : [value, value];
    select.add(new Option(label, key, false, key === selected));
  }
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return `${number(value * 1000, 0)} ms`;
  if (value < 120) return `${number(value, 2)} s`;
  return `${number(value / 60, 1)} min`;
}

export function clock(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleTimeString("en-GB", { hour12: false });
}

// The last 8 characters: ids are UUIDv7, whose first ones are the time of creation (the
// same for every task of the same minute), whose last ones are random.
export function shortId(id) {
  return id ? id.slice(-8) : "–";
}

// `action` at most once every `waitMs`; calls in between make one more run after the wait.
// A failure is shown at the top of the page under `source`, and cleared by its next success.
export function throttle(action, waitMs, source = null) {
  let timer = null;
  let again = false;
  const run = async () => {
    again = false;
    try {
      await action();
      if (source) notify(source, "");
    } catch (error) {
      if (source) notify(source, error.message);
    } finally {
      timer = setTimeout(() => {
        timer = null;
        if (again) schedule();
      }, waitMs);
    }
  };
  const schedule = () => {
    if (timer !== null) {
      again = true;
      return;
    }
    timer = -1;
    run();
  };
  return schedule;
}

export function showError(element, message) {
  element.textContent = message || "";
  element.hidden = !message;
}

// The line at the top of the page: what went wrong outside any form (a refresh that failed,
// a missing key), one message per source, each cleared by its source.
const notices = new Map();

export function notify(source, message) {
  if (message) notices.set(source, message);
  else notices.delete(source);
  const notice = byId("notice");
  if (notice) showError(notice, [...notices].map(([name, text]) => `${name}: ${text}`).join(" · "));
}

// Re-render `container` without taking the keyboard focus away: an element that had it is
// found again in the new content by its data-focus name.
export function keepingFocus(container, render) {
  const active = document.activeElement;
  const name = active && container.contains(active) ? active.dataset.focus : undefined;
  render();
  if (name) container.querySelector(`[data-focus="${CSS.escape(name)}"]`)?.focus();
}

// On a phone a table's rows fold into cards (dashboard.css), each value under its column's
// name: the names are taken from the table's own header row, one source for both layouts.
export function labelCells(body) {
  const names = [...body.closest("table").tHead.rows[0].cells].map((cell) => cell.textContent.trim());
  for (const row of body.rows) {
    for (const [index, cell] of [...row.cells].entries()) {
      if (cell.tagName === "TD" && cell.colSpan === 1 && names[index]) cell.dataset.label = names[index];
    }
  }
}
