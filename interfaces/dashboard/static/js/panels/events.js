// The global event log, live: the newest events first, filtered by type and stream, each
// one opening to its payload and metadata. The page keeps the latest KEEP events it has
// seen and shows the newest SHOWN of them that pass the filters.

import { byId, clock, h, keepingFocus, number, options, replace, throttle } from "../dom.js";

const KEEP = 500;
const SHOWN = 200;
const kept = [];
const types = new Set();
let unseen = 0;
let render = null;

export function setUpEvents() {
  render = throttle(draw, 250); // a busy log redraws four times a second, not per event
  byId("event-filters").addEventListener("input", render);
  byId("event-filters").addEventListener("submit", (event) => event.preventDefault());
}

export function addEvents(events) {
  for (const event of events) {
    kept.push(event);
    if (!types.has(event.type)) {
      types.add(event.type);
      const select = byId("event-filters").elements.type;
      options(select, [...types].sort(), { keep: 1, selected: select.value });
    }
  }
  if (kept.length > KEEP) kept.splice(0, kept.length - KEEP);
  unseen += events.length;
  render();
}

function matches(event, filters) {
  return (!filters.type || event.type === filters.type)
    && (!filters.stream || event.stream_id.includes(filters.stream.trim()));
}

function draw() {
  const form = byId("event-filters");
  if (form.elements.paused.checked && unseen) {
    form.querySelector(".event-count").textContent = `paused · ${number(unseen)} new`;
    return;
  }
  unseen = 0;
  const filters = { type: form.elements.type.value, stream: form.elements.stream.value };
  const shown = kept.filter((event) => matches(event, filters)).slice(-SHOWN).reverse();
  const log = byId("event-log");
  const open = new Set([...log.querySelectorAll("details[open]")].map((node) => node.dataset.position));
  keepingFocus(log, () => replace(log, shown.map((event) => item(event, open.has(String(event.position))))));
  form.querySelector(".event-count").textContent = `${number(shown.length)} shown of the last ${number(kept.length)}`;
}

function item(event, open) {
  const meta = event.metadata || {};
  return h("li", { dataset: { position: event.position, type: event.type } },
    h("details", { open, dataset: { position: event.position } },
      h("summary", { dataset: { focus: `event-${event.position}` } },
        h("span", { class: "num mono" }, `#${event.position}`), " ",
        h("span", { class: "event-type" }, event.type), " ",
        h("span", { class: "mono hint" }, event.stream_id), " ",
        h("span", { class: "hint" }, clock(meta.recorded_at))),
      h("pre", { class: "json" }, JSON.stringify({ payload: event.payload, metadata: meta, version: event.version, schema_version: event.schema_version }, null, 2))));
}
